import type { ApolloServerPlugin } from '@apollo/server';
import type { Viewer } from '@carwash/service-trust';
import { BREAK, visit, type DocumentNode } from 'graphql';
import { coded } from './http-errors.js';

/**
 * Who may introspect the schema and see "Did you mean …" suggestions:
 * - `on`: everybody (development);
 * - `admins`: signed-in admins only, so Sandbox works for them once they send their token (production);
 * - `off`: nobody.
 */
export type IntrospectionMode = 'on' | 'admins' | 'off';

export function introspectionAllowed(mode: IntrospectionMode, viewer: Viewer | null | undefined): boolean {
  return mode === 'on' || (mode === 'admins' && viewer?.role === 'ADMIN');
}

/** Documents already looked at: Apollo's document store hands every request of one query the same node. */
const introspecting = new WeakMap<DocumentNode, boolean>();

/** `__schema` or `__type` anywhere in the document (`__typename` is not introspection). */
export function usesIntrospection(document: DocumentNode): boolean {
  let found = introspecting.get(document);
  if (found === undefined) introspecting.set(document, (found = findsIntrospection(document)));
  return found;
}

function findsIntrospection(document: DocumentNode): boolean {
  let found = false;
  // graphql-js's visitor is iterative, and the document was bounded by the edge limits already.
  visit(document, {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

const SUGGESTION = / ?Did you mean .*\?$/;

/**
 * Applies the introspection mode per request, from the verified viewer: Apollo Server's own
 * `introspection` switch is global and cannot tell an admin from anyone else. Suggestions are removed
 * from error messages for the same callers, as they leak the schema field by field.
 */
export function introspectionPolicy<T extends { viewer: Viewer | null }>(
  mode: IntrospectionMode,
): ApolloServerPlugin<T> {
  return {
    async requestDidStart({ contextValue }) {
      const allowed = introspectionAllowed(mode, contextValue.viewer);
      if (allowed) return {};
      return {
        async didResolveOperation({ document }) {
          if (usesIntrospection(document)) throw coded('INTROSPECTION_DISABLED');
        },
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            // GraphQLError's message is an own writable property; graphql-armor masks the same way.
            (error as { message: string }).message = error.message.replace(SUGGESTION, '');
          }
        },
      };
    },
  };
}
