import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Gateway } from '@carwash/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayOver } from './support/probe-subgraph.js';
import { postGraphQL } from './support/supergraph.js';

/** What the stand-in subgraph answers next: an HTTP status, a content type and a body. */
let answer: { status: number; type: string; body: string };
let stub: http.Server;
let gateway: Gateway;
let url: string;

beforeAll(async () => {
  // A subgraph that says whatever the test wants, as a broken or hostile one might.
  stub = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body));
  });
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
  const stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}/graphql`;
  gateway = await gatewayOver('errors', [{ name: 'probe', url: stubUrl }]);
  url = (await gateway.listen(0)).url;
});

afterAll(async () => {
  await gateway?.stop();
  await new Promise((r) => stub?.close(r));
});

const json = (status: number, body: unknown) => ({
  status,
  type: 'application/json',
  body: JSON.stringify(body),
});
const ask = () => postGraphQL<{ slow: string | null }>(url, '{ slow(ms: 1) }');

describe('subgraph errors at the gateway', () => {
  it('passes a coded error from a subgraph through, with its message and the request id', async () => {
    answer = json(200, {
      data: { slow: null },
      errors: [{ message: 'Not allowed.', path: ['slow'], extensions: { code: 'FORBIDDEN' } }],
    });
    const res = await ask();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]).toMatchObject({ message: 'Not allowed.', extensions: { code: 'FORBIDDEN' } });
    expect(res.errors![0]!.extensions!.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('masks an uncoded or internal subgraph error (SQL text, stack) to INTERNAL_SERVER_ERROR with the request id', async () => {
    answer = json(200, {
      data: { slow: null },
      errors: [
        {
          message: 'relation "auth_users" does not exist',
          path: ['slow'],
          extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at query (/srv/db.ts:1:1)'] },
        },
        { message: 'TypeError: cannot read x of undefined', path: ['slow'] },
      ],
    });
    const res = await ask();
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual([
      'INTERNAL_SERVER_ERROR',
      'INTERNAL_SERVER_ERROR',
    ]);
    expect(res.errors![0]!.extensions!.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(res)).not.toMatch(/auth_users|stacktrace|TypeError|db\.ts/);
  });

  it('keeps a coded error a subgraph answered with a non-2xx status, naming the subgraph', async () => {
    answer = json(400, {
      errors: [{ message: 'The input is invalid.', extensions: { code: 'BAD_USER_INPUT', field: 'ms' } }],
    });
    const res = await ask();
    expect(res.errors?.[0]).toMatchObject({
      message: 'The input is invalid.',
      extensions: { code: 'BAD_USER_INPUT', field: 'ms', subgraph: 'probe' },
    });
  });

  it('reports a proxy’s 502/503/504 page in front of a subgraph as SUBGRAPH_UNAVAILABLE, not its HTML', async () => {
    for (const status of [502, 503, 504]) {
      answer = { status, type: 'text/html', body: '<html><body>nginx: upstream 10.0.0.7 down</body></html>' };
      const res = await ask();
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'probe' });
      expect(JSON.stringify(res)).not.toMatch(/nginx|10\.0\.0\.7|html/);
    }
  });

  it('masks a subgraph’s uncoded HTTP 500, its trust refusals and a body that is not JSON', async () => {
    const cases = [
      json(500, { message: 'Error: boom\n    at handler (/srv/app.ts:3:9)' }),
      json(401, {
        errors: [
          { message: 'Service credential invalid.', extensions: { code: 'SERVICE_CREDENTIAL_INVALID' } },
        ],
      }),
      { status: 200, type: 'text/plain', body: 'Segmentation fault at 0xdeadbeef' },
    ];
    for (const c of cases) {
      answer = c;
      const res = await ask();
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(res.errors![0]!.extensions!.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(res)).not.toMatch(/boom|app\.ts|credential|deadbeef|Segmentation/i);
    }
  });
});
