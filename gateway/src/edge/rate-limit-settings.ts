import { z } from '@carwash/config';
import { DEFAULT_TIER } from './client.js';

/** One tier: how many points a bucket holds per fixed window. */
export interface RateTier {
  points: number;
  windowSeconds: number;
}

/** Tier name → its budget; always has `default` (first-party, anonymous, and keys of an unknown tier). */
export type RateTiers = ReadonlyMap<string, RateTier>;

/** `Query.field` / `Mutation.field` → points one selection of that root field costs. */
export type FieldCosts = ReadonlyMap<string, number>;

/**
 * 600 points a minute: 10 plain requests a second per caller, or a dozen sign-ups. Generous for one
 * person or one app screen, tight for a script.
 */
export const DEFAULT_RATE_LIMIT_TIERS = 'default:600/60';

/**
 * What the expensive root fields cost (every other root field costs {@link DEFAULT_FIELD_COST}):
 * a password hash per sign-up or log-in (argon2), a serialisable booking transaction, and an availability
 * computation over every bay and shift of a day. 20 aliased `signUp` (1,000 points) are refused whole.
 */
export const DEFAULT_RATE_LIMIT_COSTS =
  'Mutation.signUp:50,Mutation.logIn:20,Mutation.createBooking:10,Query.availableSlots:5';

/** A root field that is not in the cost table. */
export const DEFAULT_FIELD_COST = 1;

const TIER_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const MAX_POINTS = 10_000_000;
const MAX_WINDOW_SECONDS = 24 * 60 * 60;
const MAX_FIELD_COST = 100_000;
const ROOT_FIELD = /^(Query|Mutation|Subscription)\.[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * Parses `name:points/windowSeconds[,…]` (e.g. `default:600/60,partner-gold:6000/60`). Throws a message
 * naming what it did not understand; `default` is required, a name appears once.
 */
export function parseRateTiers(raw: string): RateTiers {
  const tiers = new Map<string, RateTier>();
  const problems: string[] = [];
  for (const entry of splitList(raw)) {
    const m = /^([^:]+):(\d+)\/(\d+)$/.exec(entry);
    const name = m?.[1]?.trim() ?? '';
    const points = Number(m?.[2]);
    const windowSeconds = Number(m?.[3]);
    if (!m || !TIER_NAME.test(name)) problems.push(`"${entry}" is not name:points/windowSeconds`);
    else if (tiers.has(name)) problems.push(`tier "${name}" is listed twice`);
    else if (points < 1 || points > MAX_POINTS)
      problems.push(`tier "${name}": points must be 1…${MAX_POINTS}`);
    else if (windowSeconds < 1 || windowSeconds > MAX_WINDOW_SECONDS)
      problems.push(`tier "${name}": the window must be 1…${MAX_WINDOW_SECONDS} seconds`);
    else tiers.set(name, { points, windowSeconds });
  }
  if (!problems.length && !tiers.has(DEFAULT_TIER))
    problems.push(`the "${DEFAULT_TIER}" tier is required (first-party and anonymous callers use it)`);
  if (problems.length) throw new Error(problems.join('; '));
  return tiers;
}

/**
 * Parses `Root.field:points[,…]` (e.g. `Mutation.signUp:50,Query.availableSlots:5`). A field is named with
 * its root type, so a query and a mutation of the same name are priced apart; 0 makes a field free.
 */
export function parseFieldCosts(raw: string): FieldCosts {
  const costs = new Map<string, number>();
  const problems: string[] = [];
  for (const entry of splitList(raw)) {
    const m = /^([^:]+):(\d+)$/.exec(entry);
    const field = m?.[1]?.trim() ?? '';
    const points = Number(m?.[2]);
    if (!m || !ROOT_FIELD.test(field))
      problems.push(`"${entry}" is not Query.field:points or Mutation.field:points`);
    else if (costs.has(field)) problems.push(`"${field}" is listed twice`);
    else if (points > MAX_FIELD_COST) problems.push(`"${field}": a cost must be at most ${MAX_FIELD_COST}`);
    else costs.set(field, points);
  }
  if (problems.length) throw new Error(problems.join('; '));
  return costs;
}

function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
}

/** A zod setting from one of the parsers above: the parser's message becomes the setting's problem. */
function parsed<T>(parse: (raw: string) => T, fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((raw, ctx): T => {
      try {
        return parse(raw);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });
}

/** The rate-limit settings of the gateway, spread into its config shape. */
export function rateLimitSettings() {
  return {
    /** Points per fixed window, per bucket (an API key, a signed-in user, or a client address). */
    RATE_LIMIT_TIERS: parsed(parseRateTiers, DEFAULT_RATE_LIMIT_TIERS),
    /** What each root field of an operation costs; unlisted root fields cost 1. */
    RATE_LIMIT_COSTS: parsed(parseFieldCosts, DEFAULT_RATE_LIMIT_COSTS),
  };
}
