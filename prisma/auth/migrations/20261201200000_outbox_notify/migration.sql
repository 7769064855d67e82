-- Hand-written: wakes the outbox relays (their LISTEN connection) when an event is committed, so they
-- no longer poll the outbox every few tens of milliseconds (packages/events outboxNotifySql, verbatim).
-- One notification per inserting statement, delivered only if its transaction commits.
CREATE FUNCTION auth_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('auth_outbox', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER auth_outbox_notify AFTER INSERT ON auth_outbox
  FOR EACH STATEMENT EXECUTE FUNCTION auth_outbox_notify();
