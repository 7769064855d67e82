-- Hand-written: exclusion constraints need btree_gist (uuid equality inside a GiST index).
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- CreateTable
CREATE TABLE "location_wash_sites" (
    "id" UUID NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "address_line1" VARCHAR(200) NOT NULL,
    "address_line2" VARCHAR(200),
    "city" VARCHAR(100) NOT NULL,
    "postal_code" VARCHAR(20) NOT NULL,
    "region" VARCHAR(100),
    "country" VARCHAR(2) NOT NULL,
    "time_zone" VARCHAR(64) NOT NULL,
    "latitude" DOUBLE PRECISION NOT NULL,
    "longitude" DOUBLE PRECISION NOT NULL,
    "bays" INTEGER NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "closed_at" TIMESTAMPTZ(3),
    "closed_reason" VARCHAR(200),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "location_wash_sites_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "location_operating_hours" (
    "id" UUID NOT NULL,
    "site_id" UUID NOT NULL,
    "weekday" SMALLINT,
    "date" DATE,
    "opens_at" VARCHAR(5),
    "closes_at" VARCHAR(5),
    "closed" BOOLEAN NOT NULL DEFAULT false,
    "reason" VARCHAR(200),

    CONSTRAINT "location_operating_hours_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "location_staff_assignments" (
    "id" UUID NOT NULL,
    "site_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "role" VARCHAR(16) NOT NULL,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "ended_at" TIMESTAMPTZ(3),
    "ended_reason" VARCHAR(64),
    "created_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "location_staff_assignments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "location_outbox" (
    "id" UUID NOT NULL,
    "topic" VARCHAR(128) NOT NULL,
    "version" INTEGER NOT NULL,
    "aggregate_id" UUID NOT NULL,
    "payload" JSONB NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "seq" BIGSERIAL NOT NULL,

    CONSTRAINT "location_outbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "location_inbox" (
    "consumer" VARCHAR(64) NOT NULL,
    "event_id" UUID NOT NULL,
    "topic" VARCHAR(128) NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "location_inbox_pkey" PRIMARY KEY ("consumer","event_id")
);

-- CreateIndex
CREATE INDEX "location_wash_sites_active_name_idx" ON "location_wash_sites"("active", "name");

-- CreateIndex
CREATE INDEX "location_operating_hours_site_id_weekday_idx" ON "location_operating_hours"("site_id", "weekday");

-- CreateIndex
CREATE INDEX "location_operating_hours_site_id_date_idx" ON "location_operating_hours"("site_id", "date");

-- CreateIndex
CREATE INDEX "location_staff_assignments_site_id_starts_at_idx" ON "location_staff_assignments"("site_id", "starts_at");

-- CreateIndex
CREATE INDEX "location_staff_assignments_user_id_starts_at_idx" ON "location_staff_assignments"("user_id", "starts_at");

-- CreateIndex
CREATE UNIQUE INDEX "location_outbox_seq_key" ON "location_outbox"("seq");

-- AddForeignKey
ALTER TABLE "location_operating_hours" ADD CONSTRAINT "location_operating_hours_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "location_wash_sites"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "location_staff_assignments" ADD CONSTRAINT "location_staff_assignments_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "location_wash_sites"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-written: rules Prisma's schema language cannot express.
-- prisma-diff:skip-start  Prisma 6.19's WebAssembly introspection panics on CHECK and EXCLUDE
-- constraints, so `pnpm db:migrate:new` builds its shadow database without this block (prisma/cli.ts).
-- One person never holds two overlapping active shifts, at any site.
ALTER TABLE "location_staff_assignments" ADD CONSTRAINT "location_staff_no_overlap"
  EXCLUDE USING gist ("user_id" WITH =, tstzrange("starts_at", "ends_at", '[)') WITH &&) WHERE ("ended_at" IS NULL);
ALTER TABLE "location_staff_assignments" ADD CONSTRAINT "location_staff_shift_order" CHECK ("ends_at" > "starts_at");
ALTER TABLE "location_wash_sites" ADD CONSTRAINT "location_sites_bays_positive" CHECK ("bays" > 0);
ALTER TABLE "location_wash_sites" ADD CONSTRAINT "location_sites_geo_range"
  CHECK ("latitude" BETWEEN -90 AND 90 AND "longitude" BETWEEN -180 AND 180);
ALTER TABLE "location_operating_hours" ADD CONSTRAINT "location_hours_weekly_or_dated"
  CHECK (("weekday" IS NULL) <> ("date" IS NULL));
ALTER TABLE "location_operating_hours" ADD CONSTRAINT "location_hours_weekday_range"
  CHECK ("weekday" IS NULL OR "weekday" BETWEEN 1 AND 7);
-- prisma-diff:skip-end
CREATE INDEX "location_outbox_unpublished_idx" ON "location_outbox"("seq") WHERE "published_at" IS NULL;
