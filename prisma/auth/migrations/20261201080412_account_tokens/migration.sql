-- CreateEnum
CREATE TYPE "auth_account_token_purpose" AS ENUM ('VERIFY_EMAIL', 'RESET_PASSWORD');

-- CreateTable
CREATE TABLE "auth_account_tokens" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "purpose" "auth_account_token_purpose" NOT NULL,
    "token_hash" CHAR(64) NOT NULL,
    "email_normalized" VARCHAR(254) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "auth_account_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "auth_account_tokens_token_hash_key" ON "auth_account_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "auth_account_tokens_user_id_purpose_idx" ON "auth_account_tokens"("user_id", "purpose");

-- AddForeignKey
ALTER TABLE "auth_account_tokens" ADD CONSTRAINT "auth_account_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "auth_users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

