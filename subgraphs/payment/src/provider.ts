import { randomUUID } from 'node:crypto';

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
  charge(input: { token: string; amountCents: number; currency: string; idempotencyKey: string }): Promise<{ ref: string }>;
  refund(input: { chargeRef: string; amountCents: number; idempotencyKey: string }): Promise<{ ref: string }>;
}

/**
 * An offline provider that behaves like a real one's test mode: deterministic test tokens, latency,
 * and idempotency on its side too.
 *   tok_visa, tok_mastercard, tok_success…  succeed
 *   tok_decline                             card_declined
 *   tok_insufficient_funds                  insufficient_funds
 *   tok_provider_error                      ProviderUnavailable (an outage)
 */
export class SandboxProvider implements PaymentProvider {
  /** Charges actually made (one per distinct idempotency key), for tests and the sandbox dashboard. */
  readonly charges = new Map<string, { ref: string; amountCents: number; currency: string }>();
  readonly refunds = new Map<string, { ref: string; chargeRef: string; amountCents: number }>();
  private readonly inFlight = new Map<string, Promise<{ ref: string }>>();

  constructor(private readonly latencyMs = 30) {}

  private sleep(): Promise<void> {
    return new Promise((r) => setTimeout(r, this.latencyMs));
  }

  charge(input: { token: string; amountCents: number; currency: string; idempotencyKey: string }): Promise<{ ref: string }> {
    const done = this.charges.get(input.idempotencyKey);
    if (done) return Promise.resolve({ ref: done.ref });
    const running = this.inFlight.get(input.idempotencyKey);
    if (running) return running;
    const work = (async () => {
      await this.sleep();
      if (input.token === 'tok_decline') throw new ProviderDecline('card_declined');
      if (input.token === 'tok_insufficient_funds') throw new ProviderDecline('insufficient_funds');
      if (input.token === 'tok_provider_error') throw new ProviderUnavailable('sandbox: simulated outage');
      const ref = `ch_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
      this.charges.set(input.idempotencyKey, { ref, amountCents: input.amountCents, currency: input.currency });
      return { ref };
    })().finally(() => this.inFlight.delete(input.idempotencyKey));
    this.inFlight.set(input.idempotencyKey, work);
    return work;
  }

  async refund(input: { chargeRef: string; amountCents: number; idempotencyKey: string }): Promise<{ ref: string }> {
    const done = this.refunds.get(input.idempotencyKey);
    if (done) return { ref: done.ref };
    await this.sleep();
    const ref = `re_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
    this.refunds.set(input.idempotencyKey, { ref, chargeRef: input.chargeRef, amountCents: input.amountCents });
    return { ref };
  }
}
