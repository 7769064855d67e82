-- Hand-written: createBooking's hold in ONE parameterised round trip (tuning-booking.md, change 11).
-- prisma-diff:skip-start  Prisma's schema language has no functions; the shadow database needs none.
--
-- booking_hold takes createBooking's advisory locks (the customer's first when the hold cap applies, then
-- the site's: the order every writer takes them in), then decides and writes: the customer's live holds
-- against the cap, lapsed holds in the way, the lowest free bay, and — all allowing — the HELD reservation,
-- its first history row, its add-on lines and its `booking.reservation.created` outbox row. Called as one
-- `SELECT … FROM booking_hold($1, …)` outside any transaction block, so it is its own transaction and the
-- locks are released at its commit.
--
-- VOLATILE + READ COMMITTED: every statement below the locks takes a fresh snapshot when it starts, so it
-- sees every hold committed before the locks were granted (test: booking-hold.int.test.ts). The exclusion
-- constraint `booking_no_double_booking` stays the last word on double booking (23P01, retried by the
-- service). A lapsed hold in the way answers 'lapsed' without writing: the service's slower path expires
-- it (recorded, announced) first, as before.
--
-- Answers (outcome, held): 'held' with the new row, or 'limit' | 'lapsed' | 'full' with held NULL.
CREATE FUNCTION booking_hold(
  p_id uuid,
  p_customer_id uuid,
  p_site_id uuid,
  p_service_id uuid,
  p_starts_at timestamptz,
  p_ends_at timestamptz,
  p_blocked_until timestamptz,
  p_hold_expires_at timestamptz,
  p_service_name text,
  p_price_cents int,
  p_currency text,
  p_created_by uuid,
  p_items jsonb,              -- [{"serviceId", "name", "priceCents", "currency"}, …]
  p_bays int,
  p_max_holds int,            -- NULL: no cap applies (and the customer's lock is not taken)
  p_now timestamptz,
  p_event_id uuid,
  p_event_topic text,
  p_event_version int,
  p_event_payload jsonb,
  p_event_occurred_at timestamptz,
  p_lock_timeout_ms int,      -- how long to wait for the locks before giving up (55P03)
  OUT outcome text,
  OUT held booking_reservations
)
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  n_holds int;
  n_lapsed int;
  v_bay int;
BEGIN
  -- Transaction-local: ends with the call's own transaction.
  PERFORM set_config('lock_timeout', p_lock_timeout_ms || 'ms', true);
  IF p_max_holds IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('booking.customer:' || p_customer_id::text, 0));
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('booking.site:' || p_site_id::text, 0));

  IF p_max_holds IS NOT NULL THEN
    SELECT count(*)::int INTO n_holds FROM booking_reservations
    WHERE customer_id = p_customer_id AND status = 'HELD' AND hold_expires_at > p_now;
    IF n_holds >= p_max_holds THEN
      outcome := 'limit';
      RETURN;
    END IF;
  END IF;

  -- The live reservations in the way, spelled like the exclusion constraint (answered from its GiST index).
  WITH inuse AS (
    SELECT bay, status, hold_expires_at FROM booking_reservations
    WHERE site_id = p_site_id AND status IN ('HELD', 'CONFIRMED', 'IN_PROGRESS')
      AND tstzrange(starts_at, blocked_until, '[)') && tstzrange(p_starts_at, p_blocked_until, '[)')
  )
  SELECT
    (SELECT count(*)::int FROM inuse WHERE status = 'HELD' AND hold_expires_at <= p_now),
    (SELECT min(b)::int FROM generate_series(1, p_bays) AS b WHERE b NOT IN (SELECT bay FROM inuse))
  INTO n_lapsed, v_bay;
  IF n_lapsed > 0 THEN
    outcome := 'lapsed';
    RETURN;
  END IF;
  IF v_bay IS NULL THEN
    outcome := 'full';
    RETURN;
  END IF;

  INSERT INTO booking_reservations (id, customer_id, site_id, service_id, bay, starts_at, ends_at,
    blocked_until, status, hold_expires_at, service_name, price_cents, currency, created_by, updated_at)
  VALUES (p_id, p_customer_id, p_site_id, p_service_id, v_bay, p_starts_at, p_ends_at, p_blocked_until,
    'HELD', p_hold_expires_at, p_service_name, p_price_cents, p_currency, p_created_by, now())
  RETURNING * INTO held;
  INSERT INTO booking_history (id, reservation_id, from_status, to_status, changed_by)
  VALUES (gen_random_uuid(), p_id, NULL, 'HELD', p_created_by);
  INSERT INTO booking_reservation_items (id, reservation_id, service_id, name, price_cents, currency)
  SELECT gen_random_uuid(), p_id, i."serviceId", i.name, i."priceCents", i.currency
  FROM jsonb_to_recordset(p_items) AS i("serviceId" uuid, name text, "priceCents" int, currency text);
  INSERT INTO booking_outbox (id, topic, version, aggregate_id, payload, occurred_at)
  VALUES (p_event_id, p_event_topic, p_event_version, p_id, p_event_payload, p_event_occurred_at);
  outcome := 'held';
END
$$;
-- prisma-diff:skip-end
