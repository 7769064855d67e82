import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of one subgraph that remembers every GraphQL request it forwards and can hold
 * them: each waits for `gate()` before it is forwarded (headers, signature and body untouched), so a
 * test decides when a subgraph answers and counts what reached it.
 */
export interface CountingProxy {
  url: string;
  /** Request bodies received, in arrival order. */
  bodies: string[];
  /** How many received bodies match `pattern`. */
  count(pattern: RegExp): number;
  /** Resolves when a request may be forwarded; `undefined` (default) forwards at once. */
  gate: (() => Promise<void>) | undefined;
  close(): Promise<void>;
}

export async function startCountingProxy(targetUrl: string): Promise<CountingProxy> {
  const target = new URL(targetUrl);
  const proxy: CountingProxy = {
    url: '',
    bodies: [],
    count: (pattern) => proxy.bodies.filter((b) => pattern.test(b)).length,
    gate: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      proxy.bodies.push(body.toString('utf8'));
      void (proxy.gate?.() ?? Promise.resolve()).then(() => {
        const upstream = http.request(
          {
            host: target.hostname,
            port: target.port,
            path: req.url,
            method: req.method,
            headers: req.headers,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}`;
  return proxy;
}
