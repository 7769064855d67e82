import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { ERROR_CATALOGUE, type ErrorCode } from '@carwash/errors';
import { HEADER } from '@carwash/service-trust';

/** Sends a GraphQL-shaped error response with a catalogued code, for failures before GraphQL runs. */
export function sendError(
  res: Response,
  code: ErrorCode,
  extra: Record<string, unknown> = {},
  message?: string,
): void {
  res
    .status(ERROR_CATALOGUE[code].status)
    .type('application/json')
    .send(
      JSON.stringify({
        errors: [{ message: message ?? ERROR_CATALOGUE[code].message, extensions: { code, ...extra } }],
      }),
    );
}

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The caller's request id when it is sane, otherwise a new one; echoed back in the response. */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.header(HEADER.requestId);
  const id = given && REQUEST_ID.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.setHeader(HEADER.requestId, id);
  next();
}

/** Turns body-parser failures into coded responses instead of Express's HTML error page. */
export function bodyErrors(limitBytes: number) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    const type = (err as { type?: string } | null)?.type;
    if (type === 'entity.too.large') return sendError(res, 'PAYLOAD_TOO_LARGE', { limitBytes });
    if (type === 'entity.parse.failed' || type === 'encoding.unsupported' || type === 'charset.unsupported') {
      return sendError(res, 'BAD_REQUEST', {}, 'The request body is not valid JSON.');
    }
    next(err);
  };
}

/**
 * Last handlers of every app: unknown routes get a coded 404, and an error that escaped every
 * other handler gets a coded 500 with the request id — never Express's HTML page with a stack.
 */
export function finalHandlers(logger: { error: (obj: object, msg: string) => void }) {
  return [
    (_req: Request, res: Response): void => {
      res.status(404).json({ errors: [{ message: 'No such route.', extensions: { code: 'NOT_FOUND' } }] });
    },
    (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
      const id = (res.locals.requestId as string | undefined) ?? randomUUID();
      logger.error({ err, requestId: id }, 'unhandled error in HTTP pipeline');
      if (res.headersSent) return void res.end();
      sendError(res, 'INTERNAL_SERVER_ERROR', { requestId: id });
    },
  ] as const;
}

/** Something a server holds open until it stops (a Redis client, an HTTP agent, a store). */
export interface Closable {
  close(): Promise<void>;
}

/**
 * Listen/stop for an Apollo Server on a Node HTTP server: `stop` drains in-flight requests first, then
 * closes `closeAfter` (together: they are independent), which the requests it drained may still have used.
 */
export function lifecycle(
  httpServer: import('node:http').Server,
  apollo: { stop(): Promise<void> },
  closeAfter: ReadonlyArray<Closable | undefined> = [],
) {
  return {
    listen: (port: number, host = '127.0.0.1') =>
      new Promise<{ url: string; port: number }>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          const addr = httpServer.address() as import('node:net').AddressInfo;
          resolve({ url: `http://${host}:${addr.port}/graphql`, port: addr.port });
        });
      }),
    stop: async () => {
      await apollo.stop();
      if (httpServer.listening) await new Promise<void>((r) => httpServer.close(() => r()));
      await Promise.all(closeAfter.map((resource) => resource?.close()));
    },
  };
}
