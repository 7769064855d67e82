import { describe, expect, it } from 'vitest';
import { ProviderDecline, SandboxProvider } from '../src/provider.js';
import { cancellationRefund } from '../src/service.js';

describe('cancellationRefund', () => {
  const base = {
    capturedCents: 4200,
    refundedCents: 0,
    customerCancelled: true,
    late: false,
    feePercent: 20,
  };

  it('refunds in full when the customer cancels in time or the system cancels', () => {
    expect(cancellationRefund(base)).toBe(4200);
    expect(cancellationRefund({ ...base, customerCancelled: false, late: true })).toBe(4200);
  });

  it('keeps the late fee when the customer cancels late', () => {
    expect(cancellationRefund({ ...base, late: true })).toBe(3360);
  });

  it('never refunds more than is left of the capture', () => {
    expect(cancellationRefund({ ...base, refundedCents: 1000 })).toBe(3200);
    expect(cancellationRefund({ ...base, refundedCents: 4200 })).toBe(0);
    expect(cancellationRefund({ ...base, late: true, refundedCents: 1000 })).toBe(3200);
  });
});

describe('SandboxProvider', () => {
  it('charges once for concurrent calls with one key, and answers each with the same charge', async () => {
    const sut = new SandboxProvider(5);
    const input = { token: 'tok_visa', amountCents: 4200, currency: 'EUR', idempotencyKey: 'k' };
    const refs = await Promise.all(Array.from({ length: 10 }, () => sut.charge(input)));
    expect(new Set(refs.map((r) => r.ref)).size).toBe(1);
    expect(sut.charges.size).toBe(1);
  });

  it('refunds once per key, also for concurrent calls', async () => {
    const sut = new SandboxProvider(5);
    const input = { chargeRef: 'ch_1', amountCents: 4200, idempotencyKey: 'r' };
    const refs = await Promise.all([sut.refund(input), sut.refund(input), sut.refund(input)]);
    expect(new Set(refs.map((r) => r.ref)).size).toBe(1);
    expect(sut.refunds.size).toBe(1);
  });

  it('declines a wiped (empty) token instead of charging it', async () => {
    const sut = new SandboxProvider(0);
    await expect(
      sut.charge({ token: '', amountCents: 100, currency: 'EUR', idempotencyKey: 'x' }),
    ).rejects.toBeInstanceOf(ProviderDecline);
    expect(sut.charges.size).toBe(0);
  });
});
