import type pg from 'pg';

/** The first pause before the LISTEN connection is opened again after it broke; doubles up to the next. */
const RECONNECT_BASE_MS = 100;
const RECONNECT_MAX_MS = 5_000;

/**
 * The PostgreSQL channel an outbox's trigger notifies on every insert: the table's own name (an
 * identifier `OutboxRelay` has checked, so it needs no quoting).
 */
export const outboxChannel = (table: string): string => table;

/**
 * The trigger that wakes the relays of `table` (see `OutboxRelay`'s `listen`): every statement that
 * inserts outbox rows sends one `pg_notify` on `outboxChannel(table)`, and PostgreSQL delivers it only
 * when that transaction commits — a rolled-back event wakes nobody, a committed one wakes every relay at
 * once. A trigger rather than a NOTIFY beside the kit's INSERT: it covers every writer (the raw inserts
 * of repositories and SQL functions as well). Each feature's migrations hold this SQL verbatim.
 */
export function outboxNotifySql(table: string): string {
  return `CREATE FUNCTION ${table}_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${outboxChannel(table)}', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER ${table}_notify AFTER INSERT ON ${table}
  FOR EACH STATEMENT EXECUTE FUNCTION ${table}_notify();`;
}

export interface OutboxListenerOptions {
  channel: string;
  /** A new client of the feature's database, used only for LISTEN (never one of the pool's). */
  connect: () => pg.Client;
  /** A notification arrived, or the connection (re)opened: something may be waiting in the outbox. */
  onWake: () => void;
  /** The LISTEN connection failed or broke; it is opened again with back-off. */
  onError?: (error: unknown) => void;
}

/**
 * One dedicated connection that LISTENs on an outbox's channel and opens itself again whenever it
 * breaks (a PostgreSQL restart, `pg_terminate_backend`, a network cut), with back-off. Written here
 * rather than taken from a library: the one for this (pg-listen) has had no release in years, and the
 * relay needs only "wake me", no payloads — it keeps polling as a fallback while this is down.
 */
export class OutboxListener {
  private running = false;
  private loop: Promise<void> | undefined;
  /** Ends the current connection's wait (stop, or the connection broke). */
  private drop: (() => void) | undefined;
  private pause: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private connected = false;

  constructor(private readonly options: OutboxListenerOptions) {}

  /** True while a connection is open and LISTENing. */
  get listening(): boolean {
    return this.connected;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.drop?.();
    if (this.pause) {
      clearTimeout(this.pause.timer);
      this.pause.resolve();
    }
    await this.loop;
  }

  private async run(): Promise<void> {
    const { channel, connect, onWake, onError } = this.options;
    let failures = 0;
    while (this.running) {
      const client = connect();
      let closing: Promise<void> | undefined;
      const close = () => (closing ??= client.end().catch(() => undefined));
      const broken = new Promise<void>((resolve) => {
        // stop() ends a connection that is still opening as well as one that listens.
        this.drop = () => {
          resolve();
          void close();
        };
        // Without an \`error\` listener a dropped connection is an uncaught exception (see db.ts).
        client.on('error', (err) => {
          onError?.(err);
          resolve();
        });
        client.on('end', () => resolve());
      });
      client.on('notification', (message) => {
        if (message.channel === channel) onWake();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${channel}`);
        this.connected = true;
        failures = 0;
        // What committed while no connection listened was announced to nobody.
        onWake();
        await broken;
      } catch (err) {
        if (this.running) onError?.(err);
      }
      this.connected = false;
      this.drop = undefined;
      await close();
      if (!this.running) break;
      failures += 1;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          resolve,
          Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** (failures - 1)),
        );
        this.pause = { timer, resolve };
      });
      this.pause = undefined;
    }
  }
}
