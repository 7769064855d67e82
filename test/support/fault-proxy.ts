import net from 'node:net';

/**
 * A TCP proxy in front of one subgraph that can freeze: it keeps accepting connections and reading
 * requests but forwards nothing and answers nothing — what a SIGSTOPped (or swapping, or deadlocked)
 * process looks like from the network, reproduced in-process. `thaw()` drops the frozen connections (a
 * client that gave up on them has closed its side already) and forwards again.
 */
export interface FaultProxy {
  url: string;
  /** Where to forward: the subgraph's port (set once it listens). */
  target: number;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(path = '/graphql'): Promise<FaultProxy> {
  let frozen = false;
  const frozenPairs = new Set<net.Socket>();
  const open = new Set<net.Socket>();
  const proxy: FaultProxy = {
    url: '',
    target: 0,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const s of frozenPairs) s.destroy();
      frozenPairs.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((client) => {
    open.add(client);
    const upstream = net.connect(proxy.target, '127.0.0.1');
    open.add(upstream);
    const hold = () => {
      frozenPairs.add(client);
      frozenPairs.add(upstream);
    };
    client.on('data', (chunk) => (frozen ? hold() : upstream.write(chunk)));
    upstream.on('data', (chunk) => (frozen ? hold() : client.write(chunk)));
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}${path}`;
  return proxy;
}
