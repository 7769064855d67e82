import { describe, it, expect } from 'vitest';
import { AppError } from '@carwash/errors';
import { thrown } from '@carwash/testing';
import { validate } from '@carwash/subgraph-kit';
import { logInInput, normalizeEmail, password, signUpInput } from '../src/validation.js';

/** The BAD_USER_INPUT error `validate` throws for `value`, failing the test if it accepts it. */
function refusal(run: () => unknown): AppError {
  const err = thrown(run, AppError);
  expect(err.code).toBe('BAD_USER_INPUT');
  return err;
}

const SIGN_UP = { email: 'ada@example.com', password: 'Str0ng-enough!', firstName: 'Ada', lastName: 'Byron' };

describe(password.name, () => {
  it.each([
    ['too short', 'Ab1!xyz', /at least 10 characters/],
    ['too long', `Aa1!${'x'.repeat(125)}`, /at most 128 characters/],
    ['only lower case', 'abcdefghijkl', /mix three of/],
    ['two character classes', 'abcdefgh1234', /mix three of/],
    ['a common password', 'Password123', /too common/],
    ['a common password with symbols', 'Passw0rd!!', /too common/],
    ['a single repeated character', 'aaaaaaaaaaaaaaaaaaaa', /too common/],
  ])('refuses a password that is %s, with a message', (_what, value, message) => {
    const result = password().safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join('\n')).toMatch(message);
  });

  it('refuses a password that contains the email local part, whatever its case', () => {
    const result = password('Margaret.H@example.com').safeParse('xX-MARGARET.h-2024');
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toContain(
      'password must not contain the email address',
    );
  });

  it('ignores a local part shorter than four characters', () => {
    expect(password('bob@example.com').safeParse('Bob-Str0ng-pass').success).toBe(true);
  });

  it.each(['Str0ng-enough!', 'Tr1cky#Wash', 'ABCdef123456'])('accepts a strong password (%s)', (value) => {
    expect(password('ada@example.com').safeParse(value).success).toBe(true);
  });

  it('accepts a 16+ character passphrase of lower-case words', () => {
    expect(password('ada@example.com').safeParse('correct horse battery staple').success).toBe(true);
    expect(password().safeParse('sixteencharsonly').success).toBe(true);
  });

  it('still refuses a long passphrase that is one repeated character', () => {
    expect(password().safeParse('z'.repeat(40)).success).toBe(false);
  });
});

describe(`${validate.name} with signUpInput`, () => {
  it('returns the parsed input with the email and names trimmed', () => {
    const parsed = validate(
      signUpInput,
      { ...SIGN_UP, email: '  ada@example.com \n', firstName: ' Ada ' },
      'input',
    );
    expect(parsed).toEqual({ ...SIGN_UP, firstName: 'Ada' });
  });

  it('names the bad field under the prefix', () => {
    const err = refusal(() => validate(signUpInput, { ...SIGN_UP, email: 'not-an-email' }, 'input'));
    expect(err.extensions.field).toBe('input.email');
    expect(err.message).toBe('must be a valid email address');
  });

  it('reports a weak password on input.password with the strength message', () => {
    const err = refusal(() => validate(signUpInput, { ...SIGN_UP, password: 'short' }, 'input'));
    expect(err.extensions.field).toBe('input.password');
    expect(err.message).toMatch(/at least 10 characters/);
  });

  it('refuses a password containing the email local part at sign-up', () => {
    const err = refusal(() =>
      validate(
        signUpInput,
        { ...SIGN_UP, email: 'washmaster@example.com', password: 'Washmaster-99' },
        'input',
      ),
    );
    expect(err.extensions.field).toBe('input.password');
    expect(err.message).toMatch(/email/);
  });

  it('refuses an empty first name and a name with control characters', () => {
    expect(
      refusal(() => validate(signUpInput, { ...SIGN_UP, firstName: '   ' }, 'input')).extensions.field,
    ).toBe('input.firstName');
    const err = refusal(() => validate(signUpInput, { ...SIGN_UP, lastName: 'By\u0000ron' }, 'input'));
    expect(err.extensions.field).toBe('input.lastName');
    expect(err.message).toMatch(/control characters/);
  });

  it('names the field without a prefix when none is given', () => {
    expect(refusal(() => validate(signUpInput, { ...SIGN_UP, email: '' })).extensions.field).toBe('email');
  });

  it.each([
    ['email', /at most 254 characters/],
    ['firstName', /at most 100 characters/],
    ['password', /at most 128 characters/],
  ])('refuses a 10 MB %s with a length message', (field, message) => {
    const huge = 'Ab1!'.repeat(10 * 256 * 1024);
    const err = refusal(() => validate(signUpInput, { ...SIGN_UP, [field]: huge }, 'input'));
    expect(err.extensions.field).toBe(`input.${field}`);
    expect(err.message).toMatch(message);
  });

  it('refuses a 10 MB password of one repeated character as too long, not with a crash', () => {
    const err = refusal(() =>
      validate(signUpInput, { ...SIGN_UP, password: 'a'.repeat(10 * 1024 * 1024) }, 'input'),
    );
    expect(err.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.password' });
    expect(err.message).toMatch(/at most 128 characters/);
  });
});

describe(`${validate.name} with logInInput`, () => {
  it('accepts any non-empty password, without strength rules', () => {
    expect(validate(logInInput, { email: ' Ada@Example.com ', password: 'x' }, 'input')).toEqual({
      email: 'Ada@Example.com',
      password: 'x',
    });
  });

  it('refuses an empty password on input.password', () => {
    const err = refusal(() => validate(logInInput, { email: 'ada@example.com', password: '' }, 'input'));
    expect(err.extensions.field).toBe('input.password');
    expect(err.message).toBe('password must not be empty');
  });

  it('refuses a 10 MB password with a length message', () => {
    const err = refusal(() =>
      validate(logInInput, { email: 'ada@example.com', password: 'p'.repeat(10 * 1024 * 1024) }, 'input'),
    );
    expect(err.message).toMatch(/at most 128 characters/);
  });

  it('refuses a missing email', () => {
    expect(refusal(() => validate(logInInput, { password: 'x' }, 'input')).extensions.field).toBe(
      'input.email',
    );
  });
});

describe(normalizeEmail.name, () => {
  it('trims and lower-cases', () => {
    expect(normalizeEmail('  Ada.Byron@Example.COM\t')).toBe('ada.byron@example.com');
  });

  it('maps differently cased forms of one address to the same key', () => {
    expect(normalizeEmail('ADA@example.com')).toBe(normalizeEmail('ada@EXAMPLE.com'));
  });
});
