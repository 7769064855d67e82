import { beforeAll, describe, it, expect } from 'vitest';
import { AppError } from '@carwash/errors';
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import {
  ACCESS_TOKEN,
  createRevocationChecker,
  createUserTokenVerifier,
  MemoryRevocationStore,
  type UserTokenVerifier,
} from '../src/index.js';

interface TestKey {
  kid: string;
  privateKey: CryptoKey;
}

async function newKey(kid: string): Promise<TestKey & { jwks: JSONWebKeySet }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateKey, jwks: { keys: [jwk] } };
}

interface TokenOptions {
  key?: TestKey;
  kid?: string;
  issuer?: string;
  audience?: string;
  claims?: JWTPayload;
  subject?: string | null;
  iat?: number;
  exp?: number;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

let signing: TestKey & { jwks: JSONWebKeySet };
let stranger: TestKey & { jwks: JSONWebKeySet };
let verify: UserTokenVerifier;

async function token(options: TokenOptions = {}): Promise<string> {
  const key = options.key ?? signing;
  const iat = options.iat ?? nowSeconds();
  const jwt = new SignJWT(options.claims ?? { role: 'CLIENT', sid: 'session-1' })
    .setProtectedHeader({ alg: 'EdDSA', kid: options.kid ?? key.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? ACCESS_TOKEN.issuer)
    .setAudience(options.audience ?? ACCESS_TOKEN.audience)
    .setIssuedAt(iat)
    .setExpirationTime(options.exp ?? iat + 900);
  if (options.subject !== null) jwt.setSubject(options.subject ?? 'user-1');
  return jwt.sign(key.privateKey);
}

/** The AppError the verifier rejects `authorization` with. */
async function rejection(authorization: string): Promise<AppError> {
  const err: unknown = await verify(authorization).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  signing = await newKey('key-1');
  stranger = await newKey('key-2');
  verify = createUserTokenVerifier({ jwks: signing.jwks });
});

describe(createUserTokenVerifier.name, () => {
  it('needs a key set or a key set URL', () => {
    expect(() => createUserTokenVerifier({})).toThrow(/jwksUrl or jwks/);
  });

  it('treats a request without an Authorization header as anonymous', async () => {
    expect(await verify(undefined)).toBeNull();
    expect(await verify('')).toBeNull();
  });

  it('returns the viewer from a valid token', async () => {
    const viewer = await verify(
      `Bearer ${await token({ claims: { role: 'MANAGER', sid: 'sess-42' }, subject: 'user-7' })}`,
    );
    expect(viewer).toEqual({ userId: 'user-7', role: 'MANAGER', sessionId: 'sess-42' });
  });

  it('reads the key set from a function on every call, so rotated keys are picked up', async () => {
    let current = stranger.jwks;
    const rotating = createUserTokenVerifier({ jwks: () => current });
    const signedBySigning = `Bearer ${await token()}`;
    await expect(rotating(signedBySigning)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    current = { keys: [...stranger.jwks.keys, ...signing.jwks.keys] };
    expect(await rotating(signedBySigning)).toMatchObject({ userId: 'user-1' });
  });

  it('forgets what it verified once a key leaves the set read from a function, on the very next call', async () => {
    let current = { keys: [...stranger.jwks.keys, ...signing.jwks.keys] };
    const rotating = createUserTokenVerifier({ jwks: () => current });
    const signedBySigning = `Bearer ${await token()}`;
    // Verified twice (the second time from its cache) while the key is in the set…
    expect(await rotating(signedBySigning)).toMatchObject({ userId: 'user-1' });
    expect(await rotating(signedBySigning)).toMatchObject({ userId: 'user-1' });
    // …and refused as soon as it is not: a verified token is kept only under the set it was verified with.
    current = { keys: [...stranger.jwks.keys] };
    await expect(rotating(signedBySigning)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    current = { keys: [...stranger.jwks.keys, ...signing.jwks.keys] };
    expect(await rotating(signedBySigning)).toMatchObject({ userId: 'user-1' });
  });

  it('refuses an expired token, saying it has expired', async () => {
    const iat = nowSeconds() - 3600;
    const err = await rejection(`Bearer ${await token({ iat, exp: iat + 900 })}`);
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toMatch(/expired/);
    expect(err.extensions.http).toEqual({ status: 401 });
  });

  it.each<[string, TokenOptions]>([
    ['the wrong audience', { audience: 'someone-else' }],
    ['the wrong issuer', { issuer: 'evil-auth' }],
    ['an unknown role claim', { claims: { role: 'SUPERUSER', sid: 'session-1' } }],
    ['no session id', { claims: { role: 'CLIENT' } }],
    ['no subject', { subject: null }],
  ])('refuses a token with %s as UNAUTHENTICATED', async (_what, options) => {
    const err = await rejection(`Bearer ${await token(options)}`);
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).not.toMatch(/expired/);
  });

  it('refuses a token signed by a key that is not in the set', async () => {
    const err = await rejection(`Bearer ${await token({ key: stranger })}`);
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it("refuses a token signed by another key under the set's kid", async () => {
    const err = await rejection(`Bearer ${await token({ key: stranger, kid: signing.kid })}`);
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, , signature] = (await token()).split('.');
    const payload = b64url({
      sub: 'user-1',
      role: 'ADMIN',
      sid: 'session-1',
      iss: ACCESS_TOKEN.issuer,
      aud: ACCESS_TOKEN.audience,
      iat: nowSeconds(),
      exp: nowSeconds() + 900,
    });
    const err = await rejection(`Bearer ${header}.${payload}.${signature}`);
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an unsigned alg "none" token', async () => {
    const header = b64url({ alg: 'none', typ: 'JWT', kid: signing.kid });
    const payload = b64url({
      sub: 'user-1',
      role: 'ADMIN',
      sid: 's',
      iss: ACCESS_TOKEN.issuer,
      aud: ACCESS_TOKEN.audience,
      iat: nowSeconds(),
      exp: nowSeconds() + 900,
    });
    // An empty signature does not even match the Bearer shape; a junk one reaches jose and is refused there.
    for (const authorization of [`Bearer ${header}.${payload}.`, `Bearer ${header}.${payload}.AAAA`]) {
      const err = await rejection(authorization);
      expect(err.code).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses a token signed with HS256 using the public key as the secret', async () => {
    const publicX = String(signing.jwks.keys[0]!.x);
    const forged = await new SignJWT({ role: 'ADMIN', sid: 's' })
      .setProtectedHeader({ alg: 'HS256', kid: signing.kid })
      .setSubject('user-1')
      .setIssuer(ACCESS_TOKEN.issuer)
      .setAudience(ACCESS_TOKEN.audience)
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(new TextEncoder().encode(publicX));
    const err = await rejection(`Bearer ${forged}`);
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['a non-Bearer scheme', async () => `Basic ${Buffer.from('user:pass').toString('base64')}`],
    ['a lower-case scheme', async () => `bearer ${await token()}`],
    ['a token without the scheme', async () => token()],
    ['trailing text', async () => `Bearer ${await token()} extra`],
    ['something that is not a JWT', async () => 'Bearer not-a-jwt'],
  ])('refuses an Authorization header with %s', async (_what, header) => {
    const err = await rejection(await header());
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.extensions.http).toEqual({ status: 401 });
  });
});

describe(`${createUserTokenVerifier.name} with revocations`, () => {
  const namespace = 'unit-user-token';
  const store = new MemoryRevocationStore({ namespace });
  const checker = createRevocationChecker(store);
  const verifyRevoking = () => createUserTokenVerifier({ jwks: signing.jwks, revocations: checker });

  it('refuses a token of a revoked session family, saying it was revoked', async () => {
    const sid = `sid-${Math.random()}`;
    const authorization = `Bearer ${await token({ claims: { role: 'CLIENT', sid, ver: 0 } })}`;
    expect(await verifyRevoking()(authorization)).toMatchObject({ sessionId: sid });
    await store.revokeSession(sid);
    await expect(verifyRevoking()(authorization)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'The access token has been revoked.',
      extensions: { http: { status: 401 } },
    });
  });

  it("refuses a token below the user's version floor and accepts one issued at it", async () => {
    const subject = `user-${Math.random()}`;
    const old = `Bearer ${await token({ subject, claims: { role: 'MANAGER', sid: 's', ver: 1 } })}`;
    const fresh = `Bearer ${await token({ subject, claims: { role: 'CLIENT', sid: 's', ver: 2 } })}`;
    // A token minted before `ver` existed counts as version 0.
    const legacy = `Bearer ${await token({ subject, claims: { role: 'MANAGER', sid: 's' } })}`;
    await store.revokeUserBelow(subject, 2);
    await expect(verifyRevoking()(old)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'The access token has been revoked.',
    });
    await expect(verifyRevoking()(legacy)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await verifyRevoking()(fresh)).toMatchObject({ userId: subject, role: 'CLIENT' });
  });

  it.each([
    ['a negative', -1],
    ['a fractional', 1.5],
    ['a string', '3'],
  ])('refuses a token with %s version as invalid', async (_what, ver) => {
    const authorization = `Bearer ${await token({ claims: { role: 'CLIENT', sid: 's', ver } })}`;
    await expect(verifyRevoking()(authorization)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'The access token is invalid.',
    });
  });

  it('fails closed with 503 SERVICE_UNAVAILABLE when the store cannot be asked', async () => {
    const down = async () => Promise.reject(new Error('down'));
    const broken = createRevocationChecker({
      status: down,
      revokeSession: down,
      revokeUserBelow: down,
      onRevoked: () => {},
      ping: down,
      close: async () => {},
    });
    const verifyBroken = createUserTokenVerifier({ jwks: signing.jwks, revocations: broken });
    await expect(verifyBroken(`Bearer ${await token()}`)).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      extensions: { http: { status: 503 } },
    });
    // Anonymous requests never ask the store.
    expect(await verifyBroken(undefined)).toBeNull();
  });
});

describe(`${createUserTokenVerifier.name}'s verified-token cache`, () => {
  it('never answers one token with the viewer of another verified before it', async () => {
    const cached = createUserTokenVerifier({ jwks: signing.jwks });
    const a = `Bearer ${await token({ subject: 'user-a', claims: { role: 'CLIENT', sid: 'sa' } })}`;
    const b = `Bearer ${await token({ subject: 'user-b', claims: { role: 'MANAGER', sid: 'sb' } })}`;
    for (let i = 0; i < 3; i++) {
      expect(await cached(a)).toEqual({ userId: 'user-a', role: 'CLIENT', sessionId: 'sa' });
      expect(await cached(b)).toEqual({ userId: 'user-b', role: 'MANAGER', sessionId: 'sb' });
    }
  });

  it('refuses a cached token with one byte of its signature changed', async () => {
    const cached = createUserTokenVerifier({ jwks: signing.jwks });
    const jwt = await token();
    expect(await cached(`Bearer ${jwt}`)).toMatchObject({ userId: 'user-1' });
    const last = jwt.at(-2) === 'A' ? 'B' : 'A';
    const forged = `${jwt.slice(0, -2)}${last}${jwt.at(-1)}`;
    await expect(cached(`Bearer ${forged}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('refuses a cached token once it has expired', async () => {
    const cached = createUserTokenVerifier({ jwks: signing.jwks });
    const exp = nowSeconds() + 1;
    const authorization = `Bearer ${await token({ iat: exp - 60, exp })}`;
    expect(await cached(authorization)).toMatchObject({ userId: 'user-1' });
    await new Promise((resolve) => setTimeout(resolve, exp * 1000 - Date.now() + 20));
    await expect(cached(authorization)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'The access token has expired.',
    });
  });

  it('verifies the token again once its entry is older than the cache allows', async () => {
    let clock = Date.now();
    const cached = createUserTokenVerifier({ jwks: signing.jwks, now: () => clock });
    const authorization = `Bearer ${await token()}`;
    expect(await cached(authorization)).toMatchObject({ userId: 'user-1' });
    clock += 61_000;
    expect(await cached(authorization)).toMatchObject({ userId: 'user-1' });
  });

  it('refuses a cached token as soon as its session is revoked (revocation is asked every time)', async () => {
    const store = new MemoryRevocationStore({ namespace: 'unit-user-token-cache' });
    const cached = createUserTokenVerifier({
      jwks: signing.jwks,
      revocations: createRevocationChecker(store),
    });
    const sid = `sid-${Math.random()}`;
    const authorization = `Bearer ${await token({ claims: { role: 'CLIENT', sid, ver: 0 } })}`;
    expect(await cached(authorization)).toMatchObject({ sessionId: sid });
    expect(await cached(authorization)).toMatchObject({ sessionId: sid });
    await store.revokeSession(sid);
    await expect(cached(authorization)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'The access token has been revoked.',
    });
  });

  it('gives each caller a viewer of its own (a caller changing it changes no later answer)', async () => {
    const cached = createUserTokenVerifier({ jwks: signing.jwks });
    const authorization = `Bearer ${await token({ claims: { role: 'CLIENT', sid: 's' } })}`;
    const first = await cached(authorization);
    (first as { role: string }).role = 'ADMIN';
    expect(await cached(authorization)).toMatchObject({ role: 'CLIENT' });
  });
});
