export { createSubgraphServer, stopOnSignals, type RequestContext, type SubgraphServer, type SubgraphServerOptions, type ReadinessCheck } from './server.js';
export { DateTime, DateScalar, LocalTimeScalar } from './scalars.js';
export { countingPool, pgErrorCode, type StatementCounter } from './db.js';
export { createLogger, type Logger } from './logger.js';
export { sendError, requestId, bodyErrors, finalHandlers, lifecycle } from './http.js';
export { validate, fields, z } from './validate.js';
export { errorLoggingPlugin } from './error-plugin.js';
export { PeerClient } from './peer.js';
export { createFeatureEvents, type FeatureEvents, type FeatureEventsOptions } from './feature-events.js';
