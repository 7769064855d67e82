import { fields, validate, z } from '@carwash/subgraph-kit';
import { hashPassword } from './passwords.js';
import { isUniqueViolation, type AuthRepository } from './repository.js';
import * as input from './validation.js';

/** The names an operator-made admin gets; they can change them like anyone else. */
const ADMIN_NAMES = { firstName: 'Admin', lastName: 'Account' } as const;

export type AdminOutcome =
  /** A new ADMIN account with the given password. */
  | { kind: 'created'; userId: string }
  /** An existing account raised to ADMIN; its own password is kept. */
  | { kind: 'promoted'; userId: string; previousRole: string }
  /** Already an admin: nothing changed (running the command twice is harmless). */
  | { kind: 'unchanged'; userId: string };

/**
 * Makes `email` an admin: creates the account (email marked verified — the operator vouches for it)
 * or promotes the existing one. The password is checked by the same strength rules as sign-up even
 * when it ends up unused, so a bad invocation fails the same way whatever the database holds.
 * Throws BAD_USER_INPUT (field `email` or `password`) on bad input.
 */
export async function provisionAdmin(
  repo: AuthRepository,
  rawEmail: unknown,
  rawPassword: unknown,
): Promise<AdminOutcome> {
  const email = validate(fields.email(), rawEmail, 'email');
  const password = validate(z.string().pipe(input.password(email)), rawPassword ?? '', 'password');
  const emailNormalized = input.normalizeEmail(email);
  const passwordHash = await hashPassword(password);
  try {
    return await repo.transaction(async (tx): Promise<AdminOutcome> => {
      const existing = await repo.findUserByEmail(emailNormalized, tx);
      if (existing?.role === 'ADMIN') return { kind: 'unchanged', userId: existing.id };
      if (existing) {
        await repo.setRole(tx, existing.id, 'ADMIN');
        return { kind: 'promoted', userId: existing.id, previousRole: existing.role };
      }
      const user = await repo.createUser(
        { email, emailNormalized, passwordHash, ...ADMIN_NAMES, role: 'ADMIN', emailVerified: true },
        tx,
      );
      return { kind: 'created', userId: user.id };
    });
  } catch (err) {
    // Two operators at once: the other one created it first.
    if (isUniqueViolation(err)) return provisionAdmin(repo, rawEmail, rawPassword);
    throw err;
  }
}
