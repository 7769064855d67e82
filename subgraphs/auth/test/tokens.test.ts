import { beforeAll, describe, it, expect } from 'vitest';
import { createUserTokenVerifier } from '@carwash/service-trust';
import { decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import { hashRefreshToken, newRefreshToken, TokenIssuer } from '../src/tokens.js';

const CLAIMS = { userId: 'user-1', role: 'WASHER', sessionId: 'session-1' } as const;

describe(TokenIssuer.name, () => {
  let ephemeral: TokenIssuer;
  beforeAll(async () => {
    ephemeral = await TokenIssuer.create(undefined, 900);
  });

  it('generates an ephemeral Ed25519 key when none is configured', () => {
    const { keys } = ephemeral.jwks();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(keys[0]?.kid).toMatch(/^[0-9a-f]{16}$/);
  });

  it('publishes no private key material', () => {
    for (const key of ephemeral.jwks().keys) expect(key).not.toHaveProperty('d');
  });

  it('issues an access token that the shared verifier accepts', async () => {
    const { token, expiresAt } = await ephemeral.accessToken(CLAIMS);
    const verify = createUserTokenVerifier({ jwks: ephemeral.jwks() });
    expect(await verify(`Bearer ${token}`)).toEqual(CLAIMS);
    expect(decodeProtectedHeader(token)).toMatchObject({
      alg: 'EdDSA',
      kid: ephemeral.jwks().keys[0]?.kid,
      typ: 'JWT',
    });
    expect(expiresAt.getTime()).toBeGreaterThan(Date.now() + 800_000);
    expect(expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 900_000);
  });

  it('issues a token that expires after the configured lifetime', async () => {
    const issuedAt = new Date(Date.now() - 3600_000);
    const { token, expiresAt } = await ephemeral.accessToken(CLAIMS, issuedAt);
    expect(expiresAt.getTime()).toBe(Math.floor(issuedAt.getTime() / 1000) * 1000 + 900_000);
    const verify = createUserTokenVerifier({ jwks: ephemeral.jwks() });
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: expect.stringMatching(/expired/),
    });
  });

  it('issues tokens that another issuer’s keys do not verify', async () => {
    const other = await TokenIssuer.create(undefined, 900);
    const { token } = await ephemeral.accessToken(CLAIMS);
    const verify = createUserTokenVerifier({ jwks: other.jwks() });
    await expect(verify(`Bearer ${token}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('signs with the first configured key and publishes every key (rotation)', async () => {
    const current = await TokenIssuer.generateKey();
    const previous = await TokenIssuer.generateKey();
    const issuer = await TokenIssuer.create(JSON.stringify([current.privateJwk, previous.privateJwk]), 900);

    const published = issuer.jwks().keys;
    expect(published.map((k) => k.kid)).toEqual([current.kid, previous.kid]);
    for (const key of published) expect(key).not.toHaveProperty('d');

    const { token } = await issuer.accessToken(CLAIMS);
    expect(decodeProtectedHeader(token).kid).toBe(current.kid);
    expect(await createUserTokenVerifier({ jwks: issuer.jwks() })(`Bearer ${token}`)).toEqual(CLAIMS);

    // Tokens signed before the rotation (by the key now in second place) still verify.
    const before = await TokenIssuer.create(JSON.stringify([previous.privateJwk]), 900);
    const { token: old } = await before.accessToken(CLAIMS);
    expect(decodeProtectedHeader(old).kid).toBe(previous.kid);
    expect(await createUserTokenVerifier({ jwks: issuer.jwks() })(`Bearer ${old}`)).toEqual(CLAIMS);
  });

  it('accepts the keys wrapped in a { keys: [...] } object', async () => {
    const key = await TokenIssuer.generateKey();
    const issuer = await TokenIssuer.create(JSON.stringify({ keys: [key.privateJwk] }), 900);
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual([key.kid]);
  });

  it('exposes the generated private JWK with the same kid as its public key', async () => {
    const key = await TokenIssuer.generateKey();
    expect(key.privateJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: key.kid });
    expect(typeof key.privateJwk.d).toBe('string');
    expect(key.publicJwk).not.toHaveProperty('d');
    expect(key.publicJwk.x).toBe(key.privateJwk.x);
  });

  describe('refuses malformed AUTH_JWT_PRIVATE_KEYS, naming the setting', () => {
    let valid: JWK;
    beforeAll(async () => {
      valid = (await TokenIssuer.generateKey()).privateJwk;
    });

    it('refuses text that is not JSON', async () => {
      await expect(TokenIssuer.create('{not json', 900)).rejects.toThrow(/AUTH_JWT_PRIVATE_KEYS/);
    });

    it('refuses an empty array or an object without keys', async () => {
      await expect(TokenIssuer.create('[]', 900)).rejects.toThrow(/AUTH_JWT_PRIVATE_KEYS/);
      await expect(TokenIssuer.create('{}', 900)).rejects.toThrow(/AUTH_JWT_PRIVATE_KEYS/);
    });

    it('refuses a key that is not Ed25519', async () => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const ec = { ...(await exportJWK(privateKey)), kid: 'ec-1' };
      await expect(TokenIssuer.create(JSON.stringify([ec]), 900)).rejects.toThrow(/AUTH_JWT_PRIVATE_KEYS/);
    });

    it('refuses a public key without its private part', async () => {
      const { d: _d, ...publicOnly } = valid;
      await expect(TokenIssuer.create(JSON.stringify([publicOnly]), 900)).rejects.toThrow(
        /AUTH_JWT_PRIVATE_KEYS/,
      );
    });

    it('refuses a key without a kid', async () => {
      const { kid: _kid, ...noKid } = valid;
      await expect(TokenIssuer.create(JSON.stringify([noKid]), 900)).rejects.toThrow(/AUTH_JWT_PRIVATE_KEYS/);
    });
  });
});

describe(newRefreshToken.name, () => {
  it('returns a 43-character base64url token and the 64-hex SHA-256 of it', () => {
    const { token, hash } = newRefreshToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(hashRefreshToken(token));
  });

  it('returns a different token every time', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => newRefreshToken().token));
    expect(tokens.size).toBe(50);
  });
});

describe(hashRefreshToken.name, () => {
  it('is stable and matches the SHA-256 of the token', () => {
    expect(hashRefreshToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashRefreshToken('abc')).toBe(hashRefreshToken('abc'));
  });

  it('differs for different tokens', () => {
    expect(hashRefreshToken('token-a')).not.toBe(hashRefreshToken('token-b'));
  });
});
