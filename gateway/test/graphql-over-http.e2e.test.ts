import { serverAudits, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdge, type Edge } from './support/edge.js';

/**
 * graphql-http's server audits of the GraphQL-over-HTTP spec, MUST, SHOULD and MAY alike, against the
 * gateway with Apollo's CSRF prevention left on: the audits' requests carry the header a non-browser
 * client sends (`apollo-require-preflight`), which a cross-site form or image cannot set.
 */
describe('GraphQL over HTTP (graphql-http server audits)', () => {
  let edge: Edge;
  const results: AuditResult[] = [];
  beforeAll(async () => {
    edge = await startEdge();
  });
  afterAll(async () => {
    const tally: Record<string, string> = {};
    for (const level of ['MUST', 'SHOULD', 'MAY']) {
      const of = results.filter((r) => r.name.startsWith(level));
      tally[level] = `${of.filter((r) => r.status === 'ok').length}/${of.length}`;
    }
    console.info('graphql-http audit tally', tally);
    await edge?.stop();
  });

  const fetchFn: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('apollo-require-preflight', 'true');
    return fetch(input, { ...init, headers });
  };

  for (const audit of serverAudits({ url: () => edge.url, fetchFn })) {
    it(audit.name, async () => {
      const result = await audit.fn();
      results.push(result);
      if (result.status !== 'ok') {
        const body = await result.response.clone().text();
        expect.fail(`${result.reason}; HTTP ${result.response.status} ${body}`);
      }
    });
  }
});
