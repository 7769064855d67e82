-- CreateEnum
CREATE TYPE "auth_role" AS ENUM ('CLIENT', 'WASHER', 'MANAGER', 'ADMIN');

-- CreateEnum
CREATE TYPE "auth_login_outcome" AS ENUM ('SUCCEEDED', 'FAILED', 'LOCKED');

-- CreateTable
CREATE TABLE "auth_users" (
    "id" UUID NOT NULL,
    "email" VARCHAR(254),
    "email_normalized" VARCHAR(254),
    "password_hash" TEXT,
    "first_name" VARCHAR(100),
    "last_name" VARCHAR(100),
    "role" "auth_role" NOT NULL DEFAULT 'CLIENT',
    "email_verified" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "last_login_at" TIMESTAMPTZ(3),
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "auth_users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "auth_user_sessions" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "family_id" UUID NOT NULL,
    "token_hash" CHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "revoked_reason" VARCHAR(32),
    "user_agent" VARCHAR(512),
    "ip" VARCHAR(64),

    CONSTRAINT "auth_user_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "auth_login_attempts" (
    "id" UUID NOT NULL,
    "email_normalized" VARCHAR(254) NOT NULL,
    "ip" VARCHAR(64),
    "outcome" "auth_login_outcome" NOT NULL,
    "attempted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "auth_login_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "auth_outbox" (
    "id" UUID NOT NULL,
    "topic" VARCHAR(128) NOT NULL,
    "version" INTEGER NOT NULL,
    "aggregate_id" UUID NOT NULL,
    "payload" JSONB NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "auth_outbox_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "auth_users_email_normalized_key" ON "auth_users"("email_normalized");

-- CreateIndex
CREATE INDEX "auth_users_role_created_at_idx" ON "auth_users"("role", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "auth_user_sessions_token_hash_key" ON "auth_user_sessions"("token_hash");

-- CreateIndex
CREATE INDEX "auth_user_sessions_family_id_idx" ON "auth_user_sessions"("family_id");

-- CreateIndex
CREATE INDEX "auth_user_sessions_user_id_idx" ON "auth_user_sessions"("user_id");

-- CreateIndex
CREATE INDEX "auth_login_attempts_email_normalized_attempted_at_idx" ON "auth_login_attempts"("email_normalized", "attempted_at");

-- CreateIndex
CREATE INDEX "auth_login_attempts_ip_attempted_at_idx" ON "auth_login_attempts"("ip", "attempted_at");

-- CreateIndex
CREATE INDEX "auth_outbox_published_at_occurred_at_idx" ON "auth_outbox"("published_at", "occurred_at");

-- AddForeignKey
ALTER TABLE "auth_user_sessions" ADD CONSTRAINT "auth_user_sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "auth_users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

