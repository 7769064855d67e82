import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

/** Simulated latency of a sandbox call when none is given. */
const DEFAULT_LATENCY_MS = 30;
/** Hex digits in a sandbox reference (`ch_…`, `re_…`), as long as a real provider's. */
const REF_DIGITS = 24;
/** A made-up provider reference: `prefix` and random hex digits. */
const newRef = (prefix: 'ch' | 're') => `${prefix}_${randomUUID().replaceAll('-', '').slice(0, REF_DIGITS)}`;

export type DeclineCode = 'card_declined' | 'insufficient_funds';

/** The provider refused (a final answer for this request). */
export class ProviderDecline extends Error {
  constructor(readonly code: DeclineCode) {
    super(code);
    this.name = 'ProviderDecline';
  }
}

/** The provider failed or did not answer: nothing is known to have happened; retry with the same key. */
export class ProviderUnavailable extends Error {
  constructor(message = 'provider unavailable') {
    super(message);
    this.name = 'ProviderUnavailable';
  }
}

/**
 * What the payment feature needs from a card processor. Every call carries an idempotency key: the
 * provider returns the first result for a repeated key, so retries after a crash never charge twice.
 */
export interface PaymentProvider {
  /** Authorizes and captures `amountCents` on the tokenized card. */
  charge(input: ChargeRequest): Promise<{ ref: string }>;
  refund(input: RefundRequest): Promise<{ ref: string }>;
}

/** A charge as the service asks for it: the card token, the amount and the idempotency key. */
export interface ChargeRequest {
  token: string;
  amountCents: number;
  currency: string;
  idempotencyKey: string;
}

/** A refund of (part of) an earlier charge, named by the provider's reference. */
export interface RefundRequest {
  chargeRef: string;
  amountCents: number;
  idempotencyKey: string;
}

/** One movement of money the sandbox made, under the idempotency key it was asked with. */
export type SandboxEntry =
  | { kind: 'charge'; key: string; ref: string; amountCents: number; currency: string }
  | { kind: 'refund'; key: string; ref: string; chargeRef: string; amountCents: number };

/** A movement before the sandbox gives it a reference. */
type Movement = SandboxEntry extends infer E ? (E extends SandboxEntry ? Omit<E, 'ref'> : never) : never;

/**
 * An offline provider that behaves like a real one's test mode: deterministic test tokens, latency,
 * and idempotency on its side too — the same key gives the same result and moves money once, also
 * while the first call is still running and (with a ledger file) across restarts of the process.
 *   tok_visa, tok_mastercard, tok_success…  succeed
 *   tok_decline                             card_declined
 *   tok_insufficient_funds                  insufficient_funds
 *   tok_provider_error                      ProviderUnavailable (an outage)
 *   anything else (e.g. a wiped token)      card_declined
 */
export class SandboxProvider implements PaymentProvider {
  /** Charges actually made (one per distinct idempotency key), for tests and the sandbox dashboard. */
  readonly charges = new Map<string, { ref: string; amountCents: number; currency: string }>();
  readonly refunds = new Map<string, { ref: string; chargeRef: string; amountCents: number }>();
  private readonly inFlight = new Map<string, Promise<{ ref: string }>>();
  /** Bytes of the ledger file already read. */
  private ledgerOffset = 0;

  /**
   * @param latencyMs   simulated network and processing time per call
   * @param ledgerPath  a file (JSON lines) the sandbox appends every movement to and reads back, so
   *                    several processes, or a restarted one, share one idempotent ledger
   */
  constructor(
    private readonly latencyMs = DEFAULT_LATENCY_MS,
    private readonly ledgerPath?: string,
  ) {
    this.reload();
  }

  private sleep(): Promise<void> {
    return new Promise((r) => setTimeout(r, this.latencyMs));
  }

  /** Reads what other processes appended to the ledger since the last read. */
  private reload(): void {
    if (!this.ledgerPath || !existsSync(this.ledgerPath)) return;
    const text = readFileSync(this.ledgerPath).subarray(this.ledgerOffset).toString('utf8');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    this.ledgerOffset += Buffer.byteLength(complete);
    for (const line of complete.split('\n').filter(Boolean)) this.remember(JSON.parse(line) as SandboxEntry);
  }

  private remember(e: SandboxEntry): void {
    if (e.kind === 'charge')
      this.charges.set(e.key, { ref: e.ref, amountCents: e.amountCents, currency: e.currency });
    else this.refunds.set(e.key, { ref: e.ref, chargeRef: e.chargeRef, amountCents: e.amountCents });
  }

  private record(e: SandboxEntry): void {
    // Synchronous append: once the call returns, the movement is on record even if the process dies next.
    if (this.ledgerPath) appendFileSync(this.ledgerPath, `${JSON.stringify(e)}\n`);
    this.remember(e);
  }

  private known(kind: SandboxEntry['kind'], key: string): { ref: string } | undefined {
    const map = kind === 'charge' ? this.charges : this.refunds;
    if (!map.has(key)) this.reload();
    return map.get(key);
  }

  /**
   * Makes `movement` once per key: after the simulated latency, `refuse` may throw (a decline, an
   * outage); otherwise the movement gets a new reference and goes on record. A repeated key gets the
   * first call's promise or result.
   */
  private move(movement: Movement, refuse: () => void = () => {}): Promise<{ ref: string }> {
    const { kind, key } = movement;
    const done = this.known(kind, key);
    if (done) return Promise.resolve({ ref: done.ref });
    const slot = `${kind}:${key}`;
    const running = this.inFlight.get(slot);
    if (running) return running;
    const p = (async () => {
      await this.sleep();
      refuse();
      const ref = newRef(kind === 'charge' ? 'ch' : 're');
      this.record({ ...movement, ref });
      return { ref };
    })().finally(() => this.inFlight.delete(slot));
    this.inFlight.set(slot, p);
    return p;
  }

  charge(input: ChargeRequest): Promise<{ ref: string }> {
    const { token, amountCents, currency } = input;
    return this.move({ kind: 'charge', key: input.idempotencyKey, amountCents, currency }, () => {
      if (token === 'tok_insufficient_funds') throw new ProviderDecline('insufficient_funds');
      if (token === 'tok_provider_error') throw new ProviderUnavailable('sandbox: simulated outage');
      if (token === 'tok_decline' || !/^tok_[A-Za-z0-9_]+$/.test(token))
        throw new ProviderDecline('card_declined');
    });
  }

  refund(input: RefundRequest): Promise<{ ref: string }> {
    const { chargeRef, amountCents } = input;
    return this.move({ kind: 'refund', key: input.idempotencyKey, chargeRef, amountCents });
  }
}
