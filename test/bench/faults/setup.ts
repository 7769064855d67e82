/**
 * The drill's own rows, made through the gateway as people would: a manager with a 30-minute service,
 * and clients each with a card and a one-bay site of their own (open around the clock).
 */
import type pg from 'pg';
import { createOpenSite, createService } from '../../support/fixtures.js';
import { PASSWORD, postGraphQL, uniqueEmail, type GraphQLResult } from '../../support/graphql.js';
import type { LoadClient } from './load.js';

type Gql = <T>(
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
) => Promise<GraphQLResult<T>>;

/** Setup steps are retried a few times: on two busy cores a first call may time out (e.g. a JWKS fetch). */
const SETUP_ATTEMPTS = 4;
const SETUP_RETRY_PAUSE_MS = 1_000;

async function retrying<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (attempt >= SETUP_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, SETUP_RETRY_PAUSE_MS * attempt));
    }
  }
}

function must<T>(res: GraphQLResult<T>, what: string): T {
  if (res.errors?.length || !res.data) throw new Error(`${what} failed: ${JSON.stringify(res.errors)}`);
  return res.data;
}

async function signUp(gql: Gql, tag: string): Promise<{ id: string; email: string }> {
  const email = uniqueEmail(tag);
  const up = must(
    await gql<{ signUp: { user: { id: string } } }>(
      `mutation($i: SignUpInput!) { signUp(input: $i) { user { id } } }`,
      { i: { email, password: PASSWORD, firstName: 'Drill', lastName: tag } },
    ),
    'signUp',
  );
  return { id: up.signUp.user.id, email };
}

async function logIn(gql: Gql, email: string): Promise<string> {
  return must(
    await gql<{ logIn: { accessToken: string } }>(
      `mutation($i: LogInInput!) { logIn(input: $i) { accessToken } }`,
      { i: { email, password: PASSWORD } },
    ),
    'logIn',
  ).logIn.accessToken;
}

export interface DrillWorld {
  serviceId: string;
  clients: LoadClient[];
}

/** Creates the manager, the service and `clients` clients with their sites and cards. */
export async function createDrillWorld(
  gatewayUrl: string,
  authDb: pg.Pool,
  clients: number,
): Promise<DrillWorld> {
  const gql: Gql = (query, variables, token) => postGraphQL(gatewayUrl, query, variables, token);
  const manager = await retrying(() => signUp(gql, 'drill-manager'));
  // Setup only: the role is set in auth's table, as test/support's signUpAs does.
  await authDb.query(`UPDATE auth_users SET role = 'MANAGER' WHERE id = $1`, [manager.id]);
  const managerToken = await retrying(() => logIn(gql, manager.email));
  const sg = { gql };
  const serviceId = await retrying(() =>
    createService(sg, managerToken, { name: 'Drill wash', priceCents: 2500 }),
  );
  const made = await Promise.all(
    Array.from({ length: clients }, async (_, i): Promise<LoadClient> => {
      const user = await retrying(() => signUp(gql, `drill-client-${i}`));
      const token = await retrying(() => logIn(gql, user.email));
      const method = await retrying(async () =>
        must(
          await gql<{ addPaymentMethod: { id: string } }>(
            `mutation($i: AddPaymentMethodInput!) { addPaymentMethod(input: $i) { id } }`,
            { i: { providerToken: 'tok_visa', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2099 } },
            token,
          ),
          'addPaymentMethod',
        ),
      );
      const siteId = await retrying(() =>
        createOpenSite(sg, managerToken, {
          name: `Drill site ${i}`,
          bays: 1,
          opensAt: '00:00',
          closesAt: '24:00',
        }),
      );
      return { token, customerId: user.id, methodId: method.addPaymentMethod.id, siteId };
    }),
  );
  return { serviceId, clients: made };
}
