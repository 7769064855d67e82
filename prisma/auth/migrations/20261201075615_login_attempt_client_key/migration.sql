-- AlterTable
ALTER TABLE "auth_login_attempts" ADD COLUMN     "client_key" VARCHAR(64);

-- CreateIndex
CREATE INDEX "auth_login_attempts_email_normalized_client_key_attempted_a_idx" ON "auth_login_attempts"("email_normalized", "client_key", "attempted_at");

-- CreateIndex
CREATE INDEX "auth_login_attempts_client_key_attempted_at_idx" ON "auth_login_attempts"("client_key", "attempted_at");

