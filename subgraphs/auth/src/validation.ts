import { fields, z } from '@carwash/subgraph-kit';
import { ROLES } from '@carwash/service-trust';

const COMMON = new Set([
  'password',
  'password1',
  'password123',
  'passw0rd',
  'qwerty',
  'qwertyuiop',
  'letmein',
  'welcome',
  'iloveyou',
  'admin',
  'changeme',
  '123456789',
  '1234567890',
  'carwash',
]);

/**
 * A password is strong enough when it is 10–128 characters, uses at least three character classes
 * (or is a 16+ character passphrase), is not a well-known password and does not contain the email's
 * local part.
 */
export function password(email?: string) {
  return z
    .string()
    .max(128, { message: 'password must be at most 128 characters', abort: true })
    .min(10, { message: 'password must be at least 10 characters', abort: true })
    .superRefine((value, ctx) => {
      const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(value)).length;
      if (classes < 3 && value.length < 16) {
        ctx.addIssue({
          code: 'custom',
          message:
            'password must mix three of: lower case, upper case, digits, symbols (or be 16+ characters)',
        });
      }
      const lower = value.toLowerCase();
      if (COMMON.has(lower.replace(/[^a-z0-9]/g, '')) || /^(.)\1+$/.test(value)) {
        ctx.addIssue({ code: 'custom', message: 'password is too common' });
      }
      const local = email?.split('@')[0]?.toLowerCase();
      if (local && local.length >= 4 && lower.includes(local)) {
        ctx.addIssue({ code: 'custom', message: 'password must not contain the email address' });
      }
    });
}

export const signUpInput = z
  .object({
    email: fields.email(),
    password: z.string(),
    firstName: fields.name('first name'),
    lastName: fields.name('last name'),
  })
  .superRefine((v, ctx) => {
    const r = password(v.email).safeParse(v.password);
    if (!r.success) ctx.addIssue({ code: 'custom', path: ['password'], message: r.error.issues[0]!.message });
  });

/** Login checks only the shape: strength rules belong to sign-up, and must not leak here. */
export const logInInput = z.object({
  email: fields.email(),
  password: z
    .string()
    .min(1, 'password must not be empty')
    .max(128, 'password must be at most 128 characters'),
});

export const changePasswordInput = z.object({
  currentPassword: z
    .string()
    .min(1, 'password must not be empty')
    .max(128, 'password must be at most 128 characters'),
  newPassword: z.string(),
});

export const refreshToken = z.string().min(1, 'must not be empty').max(200, 'is not a refresh token');

/** `first` and `after` are checked by the kit's paging (pageSize, the cursor codec). */
export const usersArgs = z.object({
  after: z.string().nullish(),
  role: z.enum(ROLES).nullish(),
  includeDeleted: z.boolean().nullish(),
});

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export const uuid = fields.uuid();
export const email = fields.email();

/**
 * A partner's client name names its manifest file (`schema/persisted-queries/<client>.json`) and labels
 * its metrics: lower-case letters, digits, `-` and `_`, no dots or slashes (so never a path).
 */
export const MANIFEST_SAFE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const createApiKeyInput = z.object({
  name: fields.name('name'),
  client: z
    .string()
    .regex(
      MANIFEST_SAFE_NAME,
      'client must be 1–63 lower-case letters, digits, - or _ (a manifest file name)',
    ),
  tier: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'tier must be 1–32 lower-case letters, digits, - or _'),
});

/** A presented key: our format is `cwk_` + 43 base64url characters; anything else is not worth a lookup. */
export const presentedApiKey = z.string().regex(/^cwk_[A-Za-z0-9_-]{43}$/);
