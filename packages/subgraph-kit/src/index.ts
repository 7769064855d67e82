export {
  buildFeatureSubgraph,
  createFeatureServer,
  openFeature,
  type OpenFeature,
  type OpenFeatureSettings,
  type FeatureServerOptions,
  type FeatureServerSettings,
  type FeatureServerWiring,
} from './feature-server.js';
export {
  createSubgraphServer,
  stopOnSignals,
  type RequestContext,
  type SubgraphResolvers,
  type SubgraphServer,
  type SubgraphServerOptions,
  type ReadinessCheck,
} from './server.js';
export { CacheHints, CACHE_EVICT_HEADER, CACHE_TAGS_HEADER, cacheHintsPlugin } from './cache-hints.js';
export { DateTime, DateScalar, Instant, LocalTimeScalar } from './scalars.js';
export {
  countingPool,
  onCommittedWrite,
  featureDatabase,
  isConnectionFailure,
  pgErrorCode,
  type FeatureDatabase,
  type PrismaClientClass,
  type StatementCounter,
} from './db.js';
export { createLogger, type Logger } from './logger.js';
export {
  runFeature,
  type RunFeatureOptions,
  type RunnableSettings,
  type RunnableSubgraph,
} from './run-feature.js';
export { sendError, requestId, bodyErrors, finalHandlers, lifecycle, type Closable } from './http.js';
export { validate, fields, z } from './validate.js';
export {
  CONNECTION_RETRY_AFTER_SECONDS,
  errorLoggingPlugin,
  recodeConnectionFailure,
} from './error-plugin.js';
export { PeerClient, type PeerCallOptions } from './peer.js';
export { AuthPeer, isActiveUser, type PeerUser } from './auth-peer.js';
export {
  serviceAccessMiddleware,
  isServiceOnItsOwnAuthority,
  actsOnOwnAuthority,
  GATEWAY,
  type ServiceAccess,
} from './service-access.js';
export { createNonceStore } from './nonces.js';
export {
  featureRule,
  featureShield,
  hasRole,
  isAdmin,
  isAuthenticated,
  isManagerOrAdmin,
  isSelf,
  isSignedInAdmin,
  isSignedInManager,
  isSignedInSelfOrManager,
  isServiceOrSignedInSelfOrManager,
} from './shield.js';
/** graphql-shield's combinators, so that a feature's permissions.ts takes its whole vocabulary from the kit. */
export { allow, and, deny, or } from 'graphql-shield';
export {
  createFeatureEvents,
  type FeatureEvents,
  type FeatureEventsOptions,
  type FeatureSubgraph,
  assembleFeatureSubgraph,
  type FeatureWiring,
  type FeatureOwnParts,
  featureOutbox,
  type FeatureOutbox,
} from './feature-events.js';
export {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  pageSize,
  connection,
  keysetCursor,
  offsetCursor,
  pageLoader,
  readParentPages,
  type Connection,
  type PageArgs,
  type ParentRows,
  type SqlTags,
  type PageKey,
  type ParentPage,
  type ParentPageQuery,
  type PageInfo,
  type KeysetCursor,
  type KeysetPosition,
  type OffsetCursor,
} from './paging.js';
export {
  createAccessTokenVerifier,
  revocationStoreFor,
  type AccessTokenVerifier,
  type RevocationSettings,
} from './access-tokens.js';
export { required } from './rows.js';
export {
  startTracing,
  activeTraceIds,
  injectTraceContext,
  type Tracing,
  type TracingSettings,
} from './tracing.js';
export {
  keepingContext,
  observeRequests,
  requestLogPlugin,
  currentRequestLog,
  CLIENT_NAME_HEADER,
  type RequestLogRecord,
  type ObserveRequestsOptions,
} from './request-log.js';
export { isUuid, rowByIdLoader, rowsByKeyLoader } from './loaders.js';
