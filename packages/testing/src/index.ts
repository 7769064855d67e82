/**
 * Helpers that tests of several packages and features share. Test-only: production code never imports
 * this package (it is a devDependency wherever it is used, and it is not built).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';

/**
 * The error `run` throws, checked to be an instance of `type` (failing the test otherwise, or when `run`
 * throws nothing), so a test can go on to assert its code, message or fields.
 */
export function thrown<E extends Error>(run: () => unknown, type: abstract new (...args: never[]) => E): E {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error(`expected a ${type.name} to be thrown, but nothing was`);
}

/**
 * The environment of one feature under an integration test: this machine's settings (its databases,
 * Redis), then `settings` (service keys, overrides), with silent logs and an event namespace of its own
 * so that no other test's consumers see its events.
 */
export function integrationEnv(settings: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...process.env,
    LOG_LEVEL: 'silent',
    EVENTS_NAMESPACE: `int-${randomUUID().slice(0, 8)}`,
    ...settings,
  };
}

/** An event a fake repository put in its outbox. */
export interface RecordedEvent<Topic extends string = string> {
  topic: Topic;
  aggregateId: string;
  payload: unknown;
}

/** A fake repository's outbox and inbox, kept in its state so that a rolled-back transaction undoes them. */
export interface FakeEventTables<Topic extends string = string> {
  outbox: RecordedEvent<Topic>[];
  inbox: Set<string>;
}

/**
 * The event half every feature's fake repository has, as the real ones have it in SQL: `recordEvent`
 * appends to the outbox in the transaction, `firstTime` is true once per event id (the inbox).
 */
export abstract class FakeEventStore<Topic extends string = string> {
  /** The tables of the fake's current state (a rollback may have replaced it). */
  protected abstract get eventTables(): FakeEventTables<Topic>;

  async recordEvent(_tx: unknown, topic: Topic, aggregateId: string, payload: unknown): Promise<void> {
    this.eventTables.outbox.push({ topic, aggregateId, payload });
  }

  async firstTime(_tx: unknown, event: { id: string }): Promise<boolean> {
    if (this.eventTables.inbox.has(event.id)) return false;
    this.eventTables.inbox.add(event.id);
    return true;
  }
}
