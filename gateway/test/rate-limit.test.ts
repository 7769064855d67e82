import { readFileSync } from 'node:fs';
import { buildSchema, parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../src/config.js';
import { BoundedLabels, OTHER_LABEL } from '../src/edge/labels.js';
import {
  DEFAULT_RATE_LIMIT_COSTS,
  parseFieldCosts,
  parseRateTiers,
} from '../src/edge/rate-limit-settings.js';
import { bucketOf, createRateLimiter, operationCost, unknownCostFields } from '../src/edge/rate-limit.js';

const config = (env: Record<string, string>) =>
  loadGatewayConfig({ SERVICE_CREDENTIALS: 'development', ...env });

describe(parseRateTiers.name, () => {
  it('reads name:points/windowSeconds entries', () => {
    expect([...parseRateTiers('default:600/60, partner-gold:6000/60,partner.bronze:100/1')]).toEqual([
      ['default', { points: 600, windowSeconds: 60 }],
      ['partner-gold', { points: 6000, windowSeconds: 60 }],
      ['partner.bronze', { points: 100, windowSeconds: 1 }],
    ]);
  });

  it('requires the default tier, which first-party and anonymous callers use', () => {
    expect(() => parseRateTiers('partner-gold:6000/60')).toThrow(/"default" tier is required/);
  });

  it('refuses what it would misread instead of silently limiting nobody', () => {
    expect(() => parseRateTiers('default:600')).toThrow(/"default:600" is not name:points\/windowSeconds/);
    expect(() => parseRateTiers('default:600/60,default:10/1')).toThrow(/listed twice/);
    expect(() => parseRateTiers('default:0/60')).toThrow(/points must be/);
    expect(() => parseRateTiers('default:600/0')).toThrow(/window must be/);
    expect(() => parseRateTiers('default:600/60s')).toThrow(/not name:points/);
    expect(() => parseRateTiers('default:-5/60')).toThrow(/not name:points/);
  });

  it('is what the gateway config reads from RATE_LIMIT_TIERS, with a default of 600 points a minute', () => {
    expect(config({}).RATE_LIMIT_TIERS.get('default')).toEqual({ points: 600, windowSeconds: 60 });
    expect(() => config({ RATE_LIMIT_TIERS: 'gold:1/1' })).toThrow(/RATE_LIMIT_TIERS: .*"default" tier/);
  });
});

describe(parseFieldCosts.name, () => {
  it('reads Root.field:points entries, 0 making a field free', () => {
    expect([...parseFieldCosts('Mutation.signUp:50, Query.availableSlots:5,Query.me:0')]).toEqual([
      ['Mutation.signUp', 50],
      ['Query.availableSlots', 5],
      ['Query.me', 0],
    ]);
    expect(parseFieldCosts('').size).toBe(0);
  });

  it('prices the expensive fields by default', () => {
    const costs = config({}).RATE_LIMIT_COSTS;
    expect(costs).toEqual(parseFieldCosts(DEFAULT_RATE_LIMIT_COSTS));
    for (const field of [
      'Mutation.signUp',
      'Mutation.logIn',
      'Mutation.createBooking',
      'Query.availableSlots',
    ])
      expect(costs.get(field)).toBeGreaterThan(1);
  });

  it('refuses an unqualified or misspelt entry instead of leaving the field at cost 1', () => {
    expect(() => parseFieldCosts('signUp:50')).toThrow(/"signUp:50" is not Query.field:points/);
    expect(() => parseFieldCosts('Mutaton.signUp:50')).toThrow(/not Query.field/);
    expect(() => parseFieldCosts('Mutation.signUp:50,Mutation.signUp:5')).toThrow(/listed twice/);
    expect(() => parseFieldCosts('Mutation.signUp:1000000')).toThrow(/at most/);
    expect(() => config({ RATE_LIMIT_COSTS: 'logIn:20' })).toThrow(/RATE_LIMIT_COSTS/);
  });
});

describe(operationCost.name, () => {
  const costs = parseFieldCosts(DEFAULT_RATE_LIMIT_COSTS);
  const cost = (source: string, root = 'Mutation') => {
    const document = parse(source);
    const operation = document.definitions.find(
      (d): d is OperationDefinitionNode => d.kind === 'OperationDefinition',
    )!;
    return operationCost(operation, document, root, costs);
  };

  it('charges every alias of an expensive root field: 20 aliased signUp cost 20 × 50', () => {
    const aliases = Array.from({ length: 20 }, (_, i) => `s${i}: signUp(input: $i) { user { id } }`);
    expect(cost(`mutation($i: SignUpInput!) { ${aliases.join(' ')} }`)).toBe(1000);
  });

  it('charges 1 for a root field not in the table, whatever is selected below it', () => {
    expect(cost('{ me { id bookings { id } } services { id } }', 'Query')).toBe(2);
  });

  it('prices by root type: a Query field named like a priced Mutation field is not charged as one', () => {
    expect(cost('{ signUp }', 'Query')).toBe(1);
  });

  it('counts root fields reached through inline fragments and fragment spreads (no hiding behind them)', () => {
    expect(
      cost(`mutation { ...A ... on Mutation { logIn(input: {}) { accessToken } } }
            fragment A on Mutation { a: signUp(input: {}) { accessToken } b: signUp(input: {}) { accessToken } }`),
    ).toBe(120);
  });

  it('prices a fragment-doubling document in linear time, capped', () => {
    const depth = 60;
    const fragments = Array.from({ length: depth }, (_, i) =>
      i === depth - 1
        ? `fragment F${i} on Mutation { signUp(input: {}) { accessToken } }`
        : `fragment F${i} on Mutation { ...F${i + 1} ...F${i + 1} }`,
    );
    const started = performance.now();
    expect(cost(`mutation { ...F0 } ${fragments.join(' ')}`)).toBe(1_000_000_000);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('terminates on a fragment cycle (validation refuses it; the pricing must not hang first)', () => {
    expect(
      cost('{ ...A } fragment A on Query { me { id } ...B } fragment B on Query { ...A }', 'Query'),
    ).toBe(1);
  });

  it('charges at least 1 for a document that selects nothing priced', () => {
    expect(cost('{ ... on Query { ...Missing } }', 'Query')).toBe(1);
  });
});

describe(bucketOf.name, () => {
  const anonymous = { kind: 'anonymous', name: 'anonymous', tier: 'default' } as const;
  const viewer = { userId: 'u1', role: 'CLIENT', sessionId: 's1' } as const;

  it("counts a partner on its API key and the key's tier, signed-in user or not", () => {
    const partner = { kind: 'partner', name: 'acme', apiKeyId: 'k1', tier: 'partner-gold' } as const;
    expect(bucketOf(partner, viewer, '203.0.113.1')).toEqual({ kind: 'key', id: 'k1', tier: 'partner-gold' });
  });

  it('counts a signed-in user on the user, not on the address', () => {
    expect(bucketOf(anonymous, viewer, '203.0.113.1')).toEqual({ kind: 'user', id: 'u1', tier: 'default' });
  });

  it('counts an anonymous caller on its address, IPv6 per /64', () => {
    expect(bucketOf(anonymous, null, '2001:db8:1:2::99').id).toBe('2001:db8:1:2::/64');
    expect(bucketOf(anonymous, null, undefined)).toEqual({ kind: 'address', id: 'unknown', tier: 'default' });
  });
});

describe(createRateLimiter.name, () => {
  it('in memory: allows up to the tier, then refuses with the seconds left in the window', async () => {
    const sut = await createRateLimiter(parseRateTiers('default:10/30'), { kind: 'memory', namespace: 't' });
    const bucket = { kind: 'address', id: '192.0.2.1', tier: 'default' } as const;
    expect(await sut.consume(bucket, 10)).toMatchObject({ allowed: true, remainingPoints: 0 });
    const refused = await sut.consume(bucket, 1);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(29);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(30);
    expect((await sut.consume({ ...bucket, id: '192.0.2.2' }, 1)).allowed).toBe(true);
  });

  it("gives a key of an unknown tier the default tier's budget instead of failing its requests", async () => {
    const sut = await createRateLimiter(parseRateTiers('default:5/60,gold:500/60'), {
      kind: 'memory',
      namespace: 't',
    });
    const bucket = { kind: 'key', id: 'k1', tier: 'golld' } as const;
    expect((await sut.consume(bucket, 5)).allowed).toBe(true);
    expect((await sut.consume(bucket, 1)).allowed).toBe(false);
    expect((await sut.consume({ ...bucket, tier: 'gold' }, 400)).allowed).toBe(true);
  });
});

describe(BoundedLabels.name, () => {
  it('keeps the first values and labels the rest `other`, so random names cannot grow the registry', () => {
    const sut = new BoundedLabels(2);
    expect([sut.of('a'), sut.of('b'), sut.of('c'), sut.of('a')]).toEqual(['a', 'b', OTHER_LABEL, 'a']);
    expect(new BoundedLabels(10).of('x'.repeat(65))).toBe(OTHER_LABEL);
  });
});

describe(unknownCostFields.name, () => {
  const supergraph = buildSchema(
    readFileSync(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8'),
  );

  it('finds every default-priced field in the committed supergraph (a rename would leave it at cost 1)', () => {
    expect(unknownCostFields(parseFieldCosts(DEFAULT_RATE_LIMIT_COSTS), supergraph)).toEqual([]);
  });

  it('names priced fields the schema does not have, and types that are not root types', () => {
    const costs = parseFieldCosts('Mutation.sighUp:50,Query.availableSlots:5,Subscription.x:1');
    expect(unknownCostFields(costs, supergraph)).toEqual(['Mutation.sighUp', 'Subscription.x']);
  });
});
