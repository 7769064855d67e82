import { createHash, randomBytes } from 'node:crypto';
import { ACCESS_TOKEN, type Role } from '@carwash/service-trust';
import {
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
  type JSONWebKeySet,
  type CryptoKey,
} from 'jose';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * The auth feature's JWT signing keys. The first key signs; every key is published, so verifiers keep
 * accepting tokens signed by a key that is being rotated out.
 */
export class TokenIssuer {
  private constructor(
    private readonly keys: SigningKey[],
    private readonly accessTtlSeconds: number,
  ) {}

  static async create(privateJwksJson: string | undefined, accessTtlSeconds: number): Promise<TokenIssuer> {
    const keys: SigningKey[] = [];
    if (privateJwksJson) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(privateJwksJson);
      } catch {
        throw new Error('AUTH_JWT_PRIVATE_KEYS: not valid JSON (expected an array of Ed25519 private JWKs)');
      }
      const list = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown }).keys;
      if (!Array.isArray(list) || list.length === 0)
        throw new Error('AUTH_JWT_PRIVATE_KEYS: expected a non-empty array of JWKs');
      for (const jwk of list as JWK[]) {
        if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d || !jwk.kid) {
          throw new Error('AUTH_JWT_PRIVATE_KEYS: every key must be an Ed25519 private JWK with a kid');
        }
        const privateKey = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
        const { d: _d, ...pub } = jwk;
        keys.push({ kid: jwk.kid, privateKey, publicJwk: { ...pub, alg: 'EdDSA', use: 'sig' } });
      }
    } else {
      keys.push(await TokenIssuer.generateKey());
    }
    return new TokenIssuer(keys, accessTtlSeconds);
  }

  static async generateKey(): Promise<SigningKey & { privateJwk: JWK }> {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = randomBytes(8).toString('hex');
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid };
    return { kid, privateKey, publicJwk, privateJwk };
  }

  /** Public keys, as served at `/.well-known/jwks.json`. */
  jwks(): JSONWebKeySet {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /** `version` is the user's token version (`ver`, default 0): verifiers refuse tokens below a revoked version. */
  async accessToken(
    claims: { userId: string; role: Role; sessionId: string; version?: number },
    now = new Date(),
  ): Promise<{ token: string; expiresAt: Date }> {
    const key = this.keys[0]!;
    const iat = Math.floor(now.getTime() / 1000);
    const exp = iat + this.accessTtlSeconds;
    const token = await new SignJWT({ role: claims.role, sid: claims.sessionId, ver: claims.version ?? 0 })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ACCESS_TOKEN.issuer)
      .setAudience(ACCESS_TOKEN.audience)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }
}

/** A refresh token: 256 random bits. Only its SHA-256 is stored. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
