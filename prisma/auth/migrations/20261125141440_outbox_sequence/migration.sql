-- AlterTable
ALTER TABLE "auth_outbox" ADD COLUMN     "seq" BIGSERIAL NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "auth_outbox_seq_key" ON "auth_outbox"("seq");


-- Hand-written: the relay scans only unpublished rows, in write order.
CREATE INDEX "auth_outbox_unpublished_idx" ON "auth_outbox"("seq") WHERE "published_at" IS NULL;
