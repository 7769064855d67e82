import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserTokenVerifier } from '../src/index.js';

async function key(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return {
    kid,
    privateKey,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' } as JWK,
  };
}

function sign(k: Awaited<ReturnType<typeof key>>, sub: string) {
  return new SignJWT({ role: 'CLIENT', sid: 's-1' })
    .setProtectedHeader({ alg: 'EdDSA', kid: k.kid })
    .setSubject(sub)
    .setIssuer('carwash-auth')
    .setAudience('carwash')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(k.privateKey);
}

/** A JWKS endpoint on loopback whose key set the test changes, counting fetches. */
let published: JWK[] = [];
let fetches = 0;
let server: http.Server;
let jwksUrl: string;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    fetches += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe(`${createUserTokenVerifier.name} with a remote JWKS`, () => {
  it('caches the key set and picks up a rotated key on an unknown kid', async () => {
    const oldKey = await key('old');
    const newKey = await key('new');
    published = [oldKey.publicJwk];
    fetches = 0;
    const verify = createUserTokenVerifier({ jwksUrl, cooldownMs: 100 });

    expect(await verify(`Bearer ${await sign(oldKey, 'u-1')}`)).toMatchObject({ userId: 'u-1' });
    expect(await verify(`Bearer ${await sign(oldKey, 'u-2')}`)).toMatchObject({ userId: 'u-2' });
    expect(fetches).toBe(1);

    // Rotation: the issuer publishes the new key in front of the old one and starts signing with it.
    published = [newKey.publicJwk, oldKey.publicJwk];
    await new Promise((r) => setTimeout(r, 150)); // past the re-fetch cooldown
    expect(await verify(`Bearer ${await sign(newKey, 'u-3')}`)).toMatchObject({ userId: 'u-3' });
    expect(fetches).toBe(2);
    // Tokens signed by the old key stay valid while it is still published.
    expect(await verify(`Bearer ${await sign(oldKey, 'u-4')}`)).toMatchObject({ userId: 'u-4' });
    expect(fetches).toBe(2);
  });

  it('refuses a token signed by a key that was never published', async () => {
    published = [(await key('known')).publicJwk];
    const verify = createUserTokenVerifier({ jwksUrl });
    await expect(verify(`Bearer ${await sign(await key('rogue'), 'u-5')}`)).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED' },
    });
  });

  it('answers SERVICE_UNAVAILABLE, not UNAUTHENTICATED, when the key set cannot be fetched', async () => {
    const verify = createUserTokenVerifier({ jwksUrl: 'http://127.0.0.1:1/.well-known/jwks.json' });
    await expect(verify(`Bearer ${await sign(await key('any'), 'u-6')}`)).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
  });
});
