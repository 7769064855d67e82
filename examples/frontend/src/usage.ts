// A small typed client: sends a generated document to the gateway and hands back typed data.
// The types are the point here: `pnpm typecheck` fails if an operation and the API schema disagree.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { MyBookings } from './operations.js';

/** A GraphQL error as the gateway sends it: every one carries a catalogue code. */
export interface GatewayError {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

/** POSTs one operation; `variables` must match the operation's, and the data comes back typed. */
export async function request<TData, TVariables extends Record<string, unknown>>(
  url: string,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  accessToken?: string,
): Promise<{ data?: TData | null; errors?: GatewayError[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return (await response.json()) as { data?: TData | null; errors?: GatewayError[] };
}

/** Lines such as "2026-12-03T09:00:00.000Z CONFIRMED Exterior wash at Berlin Mitte (2900 EUR, CAPTURED)". */
export async function describeMyBookings(url: string, accessToken: string): Promise<string[]> {
  const { data, errors } = await request(url, MyBookings, { first: 5 }, accessToken);
  if (errors?.length) throw new Error(errors.map((e) => e.extensions?.code ?? e.message).join(', '));
  const bookings = data?.me?.bookings.nodes ?? [];
  return bookings.map(
    (b) =>
      `${b.startsAt} ${b.status} ${b.service.name} at ${b.site.name} ` +
      `(${b.price.amountCents} ${b.price.currency}, ${b.payment?.status ?? 'unpaid'})`,
  );
}
