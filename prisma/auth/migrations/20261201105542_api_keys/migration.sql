-- CreateTable
CREATE TABLE "auth_api_keys" (
    "id" UUID NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "client" VARCHAR(63) NOT NULL,
    "tier" VARCHAR(32) NOT NULL,
    "key_hash" CHAR(64) NOT NULL,
    "prefix" VARCHAR(16) NOT NULL,
    "created_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "auth_api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "auth_api_keys_key_hash_key" ON "auth_api_keys"("key_hash");

-- CreateIndex
CREATE INDEX "auth_api_keys_client_idx" ON "auth_api_keys"("client");

-- CreateIndex
CREATE INDEX "auth_api_keys_created_at_idx" ON "auth_api_keys"("created_at");

