/**
 * Talking to the supergraph as a client does, without starting it: what in-process tests
 * (supergraph.ts) and tools that run the services as child processes (the fault drills) share.
 */

/**
 * The gateway's rate-limit tiers in tests that are not about rate limits: every test process signs up
 * and logs in from 127.0.0.1 far more often than one person would. Rate-limit tests set their own.
 */
export const UNLIMITED_TEST_TIERS = 'default:10000000/60';

export interface GraphQLResult<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{
    message: string;
    path?: string[];
    extensions?: Record<string, unknown> & { code?: string; field?: string };
  }>;
}

export async function postGraphQL<T>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
  headers: Record<string, string> = {},
): Promise<GraphQLResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Omit<GraphQLResult<T>, 'status'>;
  return { status: res.status, ...body };
}

let counter = 0;
/** A unique, valid email for one test's own rows. */
export function uniqueEmail(tag = 'user'): string {
  counter += 1;
  return `${tag}.${Date.now().toString(36)}.${process.pid}.${counter}@example.test`;
}

export const PASSWORD = 'Wash-my-car-42';
