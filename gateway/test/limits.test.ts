import { describe, expect, it } from 'vitest';
import {
  createEdgeLimits,
  inspectDocument,
  jsonDeeperThan,
  type DocumentLimits,
} from '../src/edge/limits.js';
import { createGatewayMetrics } from '../src/edge/metrics.js';

const LIMITS: DocumentLimits = {
  maxTokens: 3000,
  maxDepth: 10,
  maxAliases: 15,
  maxRootFields: 15,
  maxDirectives: 20,
  maxCost: 5000,
  maxSelections: 2000,
};
const UNBOUNDED_TOKENS = { ...LIMITS, maxTokens: 1_000_000 };
const repeat = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(' ');

describe(inspectDocument.name, () => {
  it('accepts an ordinary query and leaves syntax errors to the parser', () => {
    expect(inspectDocument('{ node(id: "1") { id child { name } } }', LIMITS)).toBeUndefined();
    expect(inspectDocument('{ node(id: "1") { id ', LIMITS)).toBeUndefined();
    expect(inspectDocument('{ "unterminated }', LIMITS)).toBeUndefined();
  });

  it('finds a 5,000-fragment cycle without recursion (the stack overflow of the finding)', () => {
    const query = `{ ...F0 } ${repeat(5000, (i) => `fragment F${i} on Query { ...F${(i + 1) % 5000} }`)}`;
    expect(inspectDocument(query, UNBOUNDED_TOKENS)?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('expands a 5,000-long fragment chain iteratively and counts its root fields', () => {
    const chain = `{ ...F0 } ${repeat(4999, (i) => `fragment F${i} on Query { a${i}: __typename ...F${i + 1} }`)} fragment F4999 on Query { __typename }`;
    expect(inspectDocument(chain, UNBOUNDED_TOKENS)?.code).toBe('QUERY_TOO_LARGE');
    expect(inspectDocument(chain, { ...UNBOUNDED_TOKENS, maxSelections: 10_000 })?.code).toBe(
      'QUERY_TOO_MANY_ROOT_FIELDS',
    );
  });

  it('counts fragment doubling by its expanded size, not its length', () => {
    const doubling = (n: number) =>
      `{ ...F${n} } fragment F0 on Query { __typename } ${repeat(n, (i) => `fragment F${i + 1} on Query { x: node(id: "${i}") { ...G${i} } } fragment G${i} on Node { id }`)}`;
    const deep = `{ n { ...D20 } } fragment D0 on Node { id } ${repeat(20, (i) => `fragment D${i + 1} on Node { child { ...D${i} } child { ...D${i} } }`)}`;
    expect(inspectDocument(deep, LIMITS)?.code).toBe('QUERY_TOO_LARGE');
    expect(inspectDocument(doubling(3), LIMITS)).toBeUndefined();
  });

  it('refuses a field repeated many times in one selection set (quadratic OverlappingFieldsCanBeMerged)', () => {
    const copies = (n: number) => `{ node(id: "1") { ${repeat(n, () => '... on Node { child { id } }')} } }`;
    expect(inspectDocument(copies(11), LIMITS)?.code).toBe('QUERY_TOO_LARGE');
    expect(inspectDocument(copies(10), LIMITS)).toBeUndefined();
    const spreads = `{ node(id: "1") { ${repeat(21, (i) => `...A${i}`)} } } ${repeat(21, (i) => `fragment A${i} on Node { child { id } }`)}`;
    expect(inspectDocument(spreads, LIMITS)?.message).toMatch(/Fragments are spread more than 20 times/);
    const twenty = `{ node(id: "1") { ${repeat(20, (i) => `...A${i}`)} } } ${repeat(20, (i) => `fragment A${i} on Node { id child { id } }`)}`;
    expect(inspectDocument(twenty, LIMITS)).toBeUndefined();
    // The same key in different selection sets is not a repetition.
    expect(
      inspectDocument(`{ ${repeat(15, (i) => `a${i}: node(id: "${i}") { id }`)} }`, LIMITS),
    ).toBeUndefined();
  });

  it('refuses brackets nested deeper than the stack-safety bound, in values too', () => {
    expect(
      inspectDocument(`{ echo(text: "x", list: ${'['.repeat(100)}${']'.repeat(100)}) }`, LIMITS)?.code,
    ).toBe('QUERY_TOO_DEEP');
  });

  it('counts tokens before parsing, comments excluded', () => {
    expect(inspectDocument(`{ ${repeat(3001, () => 'a')} }`, LIMITS)?.code).toBe('QUERY_TOO_LARGE');
    expect(inspectDocument(`# ${'c'.repeat(50_000)}\n{ a }`, LIMITS)).toBeUndefined();
  });
});

describe(jsonDeeperThan.name, () => {
  it('measures nesting iteratively', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(jsonDeeperThan(deep, 32)).toBe(true);
    expect(jsonDeeperThan({ a: { b: [1, 2, { c: null }] } }, 32)).toBe(false);
    expect(jsonDeeperThan(undefined, 32)).toBe(false);
  });
});

describe(createEdgeLimits.name, () => {
  /** A request as Express hands it to the guard; `sent` records a refusal. */
  function run(guard: ReturnType<typeof createEdgeLimits>['guard'], query: string, client?: object) {
    let sent: { status?: number; body?: string } | undefined;
    let passed = false;
    const res = {
      locals: client ? { client } : {},
      setHeader() {},
      status(s: number) {
        sent = { ...sent, status: s };
        return this;
      },
      type() {
        return this;
      },
      send(body: string) {
        sent = { ...sent, body };
        return this;
      },
    };
    const req = { method: 'POST', body: { query }, query: {}, header: () => undefined };
    guard(req as never, res as never, () => {
      passed = true;
    });
    return { passed, sent };
  }
  const bomb = `{ ${repeat(4000, () => '__typename')} }`;

  it('refuses a bomb from an ordinary client with a coded 400', () => {
    const { guard } = createEdgeLimits({ limits: LIMITS, metrics: createGatewayMetrics() });
    const { passed, sent } = run(guard, bomb);
    expect(passed).toBe(false);
    expect(sent?.status).toBe(400);
    expect(JSON.parse(sent!.body!).errors[0].extensions.code).toBe('QUERY_TOO_LARGE');
  });

  it('lets through the clients the exemption hook names (trusted operations), and only them', () => {
    const { guard } = createEdgeLimits({
      limits: LIMITS,
      metrics: createGatewayMetrics(),
      exempt: (client) => client.kind === 'partner' && client.name === 'acme',
    });
    expect(run(guard, bomb, { kind: 'partner', name: 'acme', tier: 'default' }).passed).toBe(true);
    expect(run(guard, bomb, { kind: 'partner', name: 'other', tier: 'default' }).passed).toBe(false);
    expect(run(guard, bomb).passed).toBe(false);
  });

  it('answers a document it has seen from memory, refusal and code included, per instance of the limits', () => {
    const { guard } = createEdgeLimits({ limits: LIMITS, metrics: createGatewayMetrics() });
    const fine = '{ node(id: "1") { id } }';
    for (let i = 0; i < 3; i++) {
      expect(run(guard, fine).passed).toBe(true);
      const refused = run(guard, bomb);
      expect(refused.passed).toBe(false);
      expect(JSON.parse(refused.sent!.body!).errors[0].extensions.code).toBe('QUERY_TOO_LARGE');
    }
    // Another gateway's limits are its own: what one accepted is judged again under stricter limits.
    const strict = createEdgeLimits({
      limits: { ...LIMITS, maxTokens: 100 },
      metrics: createGatewayMetrics(),
    });
    const wide = `{ node(id: "1") { ${repeat(200, (i) => `a${i}`)} } }`;
    expect(run(guard, wide).passed).toBe(true);
    expect(run(strict.guard, wide).passed).toBe(false);
  });
});
