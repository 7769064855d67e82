/**
 * The SQL floor of the dashboard benchmark: the same data as the supergraph's dashboard query (a site's
 * bookings for one local day, each with its customer, washer, site, service and payment), fetched by one
 * hand-written statement per feature database and served by bare `node:http` + `pg` — no GraphQL, no
 * authentication, no authorization. What the supergraph costs is measured against this.
 *
 * Started by the dashboard section as a child process (`fork`, IPC): it sends `{ port }` once it
 * listens on a free port, answers `GET /dashboard?site=<id>&date=<YYYY-MM-DD>` with
 * `{ data: { site: … } }` in the GraphQL response's shape, and stops on SIGTERM. The databases come
 * from the usual `<FEATURE>_DATABASE_URL` settings, with the features' defaults.
 */
import { createServer } from 'node:http';
import { featureSettings } from '@carwash/config';
import { DateTime } from 'luxon';
import pg from 'pg';

/** Connections per feature database (the supergraph's subgraphs run with up to 20). */
const POOL_SIZE = 10;
/** The transaction states the payment subgraph answers as a booking's `payment` (its PAID_STATES). */
const PAID = ['CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED'];

const pool = (connectionString: string) => new pg.Pool({ connectionString, max: POOL_SIZE });
// Each feature's own setting, with its default (database `carwash_<feature>`), as the subgraphs read it.
const env = process.env;
const db = {
  auth: pool(featureSettings('auth', { port: 0 }).AUTH_DATABASE_URL.parse(env.AUTH_DATABASE_URL)),
  booking: pool(featureSettings('booking', { port: 0 }).BOOKING_DATABASE_URL.parse(env.BOOKING_DATABASE_URL)),
  location: pool(
    featureSettings('location', { port: 0 }).LOCATION_DATABASE_URL.parse(env.LOCATION_DATABASE_URL),
  ),
  payment: pool(featureSettings('payment', { port: 0 }).PAYMENT_DATABASE_URL.parse(env.PAYMENT_DATABASE_URL)),
};

interface SiteRow {
  id: string;
  name: string;
  time_zone: string;
}
interface BookingRow {
  id: string;
  status: string;
  starts_at: Date;
  ends_at: Date;
  bay: number;
  price_cents: number;
  currency: string;
  customer_id: string;
  washer_id: string | null;
  service_id: string;
  service_name: string;
  duration_minutes: number;
}
interface UserRow {
  id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
}
interface PaymentRow {
  id: string;
  booking_id: string;
  status: string;
  amount_cents: number;
  currency: string;
}

async function dashboard(siteId: string, date: string) {
  const site = (
    await db.location.query<SiteRow>(
      'SELECT id, name, time_zone FROM location_wash_sites WHERE id = $1::uuid',
      [siteId],
    )
  ).rows[0];
  if (!site) return { data: { site: null } };
  const from = DateTime.fromISO(date, { zone: site.time_zone }).startOf('day');
  const bookings = (
    await db.booking.query<BookingRow>(
      `SELECT r.id, r.status, r.starts_at, r.ends_at, r.bay, r.price_cents, r.currency, r.customer_id,
              r.washer_id, s.id AS service_id, s.name AS service_name, s.duration_minutes
         FROM booking_reservations r JOIN booking_services s ON s.id = r.service_id
        WHERE r.site_id = $1::uuid AND r.starts_at >= $2 AND r.starts_at < $3
        ORDER BY r.starts_at, r.bay`,
      [siteId, from.toJSDate(), from.plus({ days: 1 }).toJSDate()],
    )
  ).rows;
  const userIds = [
    ...new Set(bookings.flatMap((b) => (b.washer_id ? [b.customer_id, b.washer_id] : [b.customer_id]))),
  ];
  const [users, payments] = await Promise.all([
    db.auth.query<UserRow>(
      'SELECT id, email, first_name, last_name FROM auth_users WHERE id = ANY($1::uuid[])',
      [userIds],
    ),
    db.payment.query<PaymentRow>(
      `SELECT DISTINCT ON (booking_id) id, booking_id, status, amount_cents, currency
         FROM payment_transactions
        WHERE booking_id = ANY($1::uuid[]) AND status::text = ANY($2::text[])
        ORDER BY booking_id, created_at DESC, id DESC`,
      [bookings.map((b) => b.id), PAID],
    ),
  ]);
  const userById = new Map(users.rows.map((u) => [u.id, u]));
  const paymentOf = new Map(payments.rows.map((p) => [p.booking_id, p]));
  const person = (id: string) => {
    const u = userById.get(id);
    return { id, email: u?.email ?? null, firstName: u?.first_name ?? null, lastName: u?.last_name ?? null };
  };
  return {
    data: {
      site: {
        id: site.id,
        name: site.name,
        bookings: bookings.map((b) => {
          const p = paymentOf.get(b.id);
          const washer = b.washer_id ? person(b.washer_id) : null;
          return {
            id: b.id,
            status: b.status,
            startsAt: b.starts_at.toISOString(),
            endsAt: b.ends_at.toISOString(),
            bay: b.bay,
            price: { amountCents: b.price_cents, currency: b.currency },
            customer: person(b.customer_id),
            washer: washer && { id: washer.id, firstName: washer.firstName, lastName: washer.lastName },
            site: { id: site.id, name: site.name },
            service: { id: b.service_id, name: b.service_name, durationMinutes: b.duration_minutes },
            payment: p
              ? { id: p.id, status: p.status, amount: { amountCents: p.amount_cents, currency: p.currency } }
              : null,
          };
        }),
      },
    },
  };
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://floor');
  const site = url.searchParams.get('site');
  const date = url.searchParams.get('date');
  if (url.pathname !== '/dashboard' || !site || !date) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    return;
  }
  dashboard(site, date).then(
    (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
    (err: unknown) => {
      console.error(err);
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal"}');
    },
  );
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.send?.({ port: address.port });
});

process.on('SIGTERM', () => {
  server.close();
  void Promise.all(Object.values(db).map((p) => p.end())).then(() => process.exit(0));
});
