import {
  buildFeatureSubgraph,
  createAccessTokenVerifier,
  openFeature,
  revocationStoreFor,
  sendError,
  type FeatureSubgraph,
  type Logger,
} from '@carwash/subgraph-kit';
import { apiKeyRevocationChannel } from '@carwash/service-trust';
import { Redis } from 'ioredis';
import type { AuthConfig } from './config.js';
import type { AuthContext } from './context.js';
import { createDb, type AuthDb } from './db.js';
import { createLoaders } from './loaders.js';
import { DevMailbox } from './mail.js';
import { ApiKeyService } from './api-keys.js';
import { ApiKeyRepository } from './repositories/api-keys.js';
import { permissions, serviceAccess } from './permissions.js';
import { AccountRecovery } from './recovery.js';
import { AuthRepository } from './repository.js';
import { resolvers } from './resolvers.js';
import { REVOCATION_CLOCK_SKEW_SECONDS, RevocationProjector } from './revocations.js';
import { AuthService } from './service.js';
import { RecoveryThrottle } from './throttle.js';
import { TokenIssuer } from './tokens.js';

export { sqlStatements } from './db.js';
export { loadAuthConfig, type AuthConfig } from './config.js';

/**
 * The auth subgraph's handles. Its consumers project auth's own revocation events into the revocation
 * store every verifier reads.
 */
export interface AuthSubgraph extends FeatureSubgraph<AuthDb, AuthService> {
  /** Signs access tokens; its public keys are served at `/.well-known/jwks.json`. */
  issuer: TokenIssuer;
}

/** Builds the auth subgraph (schema, routes, dependencies). Does not listen: main.ts and tests do. */
export async function createAuthSubgraph(config: AuthConfig, logger: Logger): Promise<AuthSubgraph> {
  const issuer = await TokenIssuer.create(config.AUTH_JWT_PRIVATE_KEYS, config.AUTH_ACCESS_TOKEN_TTL_SECONDS);
  if (!config.AUTH_JWT_PRIVATE_KEYS)
    logger.warn('AUTH_JWT_PRIVATE_KEYS is not set: signing with an ephemeral key (development only)');
  // Kept at least as long as any access token lives, so every token a revocation refuses expires first.
  const revocationStore = revocationStoreFor(
    config,
    config.AUTH_ACCESS_TOKEN_TTL_SECONDS + REVOCATION_CLOCK_SKEW_SECONDS,
  );
  // The auth feature verifies access tokens with its own keys: no network hop to itself.
  const tokens = createAccessTokenVerifier({ jwks: () => issuer.jwks() }, config, revocationStore);
  const wiring = openFeature('auth', config, logger, createDb, tokens);
  const projector = new RevocationProjector(revocationStore, logger);
  const repo = new AuthRepository(wiring.db, projector.applyCommitted);
  const service = new AuthService(repo, issuer, config);
  const mailbox = new DevMailbox(logger, config.AUTH_DEV_MAILBOX);
  // The throttle shares the bus's Redis and namespace; the single-process mode counts in memory.
  const redis =
    config.EVENT_BUS === 'redis'
      ? new Redis(config.REDIS_URL, { connectionName: 'carwash-auth:throttle', maxRetriesPerRequest: 2 })
      : undefined;
  const throttle = new RecoveryThrottle(
    {
      maxPerEmail: config.AUTH_RECOVERY_MAX_PER_EMAIL,
      maxPerClient: config.AUTH_RECOVERY_MAX_PER_CLIENT,
      windowSeconds: config.AUTH_RECOVERY_WINDOW_SECONDS,
    },
    redis ? { redis, keyPrefix: `${config.EVENTS_NAMESPACE}:auth:recovery` } : 'memory',
  );
  const recovery = new AccountRecovery(repo, mailbox, throttle, config, logger);
  // Gateways drop a revoked key's cached verdict on this announcement; their short cache TTL is the fallback.
  const apiKeys = new ApiKeyService(
    new ApiKeyRepository(wiring.db),
    config.AUTH_API_KEY_HASH_SECRET,
    async (id) => {
      try {
        await redis?.publish(apiKeyRevocationChannel(config.EVENTS_NAMESPACE), id);
      } catch (err) {
        logger.warn(
          { err, apiKeyId: id },
          'API key revocation not announced; gateways refuse it after their cache TTL',
        );
      }
    },
  );

  const subgraph = await buildFeatureSubgraph<AuthContext, AuthDb, AuthService>(
    wiring,
    {
      schemaFile: new URL('./schema.graphql', import.meta.url),
      resolvers,
      permissions,
      serviceAccess,
      context: () => ({ loaders: createLoaders(repo), auth: service, recovery, apiKeys }),
      routes: (app) => {
        app.get('/.well-known/jwks.json', (_req, res) => {
          res.set('cache-control', 'public, max-age=300').json(issuer.jwks());
        });
        // Development only (AUTH_DEV_MAILBOX, refused in production): the mail a developer would have received.
        if (mailbox.keepInbox) {
          app.get('/dev/mailbox', (req, res) => {
            const to = typeof req.query.to === 'string' ? req.query.to : '';
            if (!to)
              return sendError(res, 'BAD_USER_INPUT', { field: 'to' }, 'to: the recipient email is required');
            res.set('cache-control', 'no-store').json({ messages: mailbox.messagesTo(to) });
          });
        }
      },
    },
    {
      service,
      handlers: projector.handlers,
      // Recovery mails the last requests started are sent before the throttle's Redis closes.
      afterServerStop: async () => {
        await recovery.drain();
        await redis?.quit();
      },
    },
  );
  return { ...subgraph, issuer };
}
