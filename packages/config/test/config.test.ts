import { afterEach, beforeEach, describe, it, expect } from 'vitest';
import { ConfigError, DEV_SERVICE_KEYS, loadConfig, requireProductionSecrets, setting, z } from '../src/index.js';

/** Runs `fn` and returns the ConfigError it throws, failing the test if it throws nothing else. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

const SECRET_A = 'a'.repeat(32);
const SECRET_B = 'b-0123456789-0123456789-0123456789';

describe(loadConfig.name, () => {
  const shape = {
    PORT: setting.port(4000),
    POOL: setting.int(10, 1, 200),
    DATABASE_URL: setting.postgresUrl(),
    NAME: z.string().default('carwash'),
  };

  it('returns typed values, coercing numbers and applying defaults', () => {
    const config = loadConfig('svc', shape, { PORT: '8080', DATABASE_URL: 'postgresql://db/x' });
    expect(config).toEqual({ PORT: 8080, POOL: 10, DATABASE_URL: 'postgresql://db/x', NAME: 'carwash' });
  });

  it('reports every problem at once, each naming its setting', () => {
    const err = configErrorOf(() => loadConfig('svc', shape, { PORT: 'eighty', POOL: '500' }));
    expect(err.service).toBe('svc');
    expect(err.problems).toHaveLength(3);
    expect(err.problems.find((p) => p.startsWith('PORT: '))).toBeDefined();
    expect(err.problems.find((p) => p.startsWith('POOL: '))).toMatch(/200/);
    expect(err.problems.find((p) => p.startsWith('DATABASE_URL: '))).toMatch(/required but not set/);
    expect(err.message).toContain('svc: invalid configuration');
    for (const name of ['PORT', 'POOL', 'DATABASE_URL']) expect(err.message).toContain(`  - ${name}: `);
  });

  it('refuses a malformed integer, naming the setting', () => {
    const err = configErrorOf(() => loadConfig('svc', { POOL: setting.int(10) }, { POOL: '1.5' }));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^POOL: /);
    expect(err.problems[0]).not.toMatch(/required but not set/);
  });

  it('refuses a value below the minimum and a port above 65535', () => {
    const err = configErrorOf(() => loadConfig('svc', { POOL: setting.int(10, 1, 200), PORT: setting.port(1) }, { POOL: '0', PORT: '70000' }));
    expect(err.problems.map((p) => p.split(':')[0]).sort()).toEqual(['POOL', 'PORT']);
  });

  it('treats an empty string as unset, so the default applies', () => {
    const config = loadConfig('svc', { POOL: setting.int(10), NAME: z.string().default('carwash') }, { POOL: '', NAME: '' });
    expect(config).toEqual({ POOL: 10, NAME: 'carwash' });
  });

  it('reports an empty required setting as not set', () => {
    const err = configErrorOf(() => loadConfig('svc', { DATABASE_URL: setting.postgresUrl() }, { DATABASE_URL: '' }));
    expect(err.problems).toEqual([expect.stringMatching(/^DATABASE_URL: required but not set/)]);
  });

  it('ignores environment variables it was not asked about', () => {
    const config = loadConfig('svc', { NAME: z.string().default('x') }, { NAME: 'y', OTHER: 'z' });
    expect(config).toEqual({ NAME: 'y' });
  });

  it('refuses a database URL that is not postgresql://', () => {
    const err = configErrorOf(() => loadConfig('svc', { DATABASE_URL: setting.postgresUrl() }, { DATABASE_URL: 'mysql://db/x' }));
    expect(err.problems).toEqual(['DATABASE_URL: must be a postgresql:// URL']);
  });
});

describe('setting.hmacKeys', () => {
  const schema = setting.hmacKeys();

  it('parses id:secret pairs separated by commas, trimming spaces', () => {
    expect(schema.parse(`new:${SECRET_A}, old:${SECRET_B}`)).toEqual([
      { id: 'new', secret: SECRET_A },
      { id: 'old', secret: SECRET_B },
    ]);
  });

  it('keeps colons inside the secret', () => {
    const secret = 'x:y:'.repeat(10);
    expect(schema.parse(`k1:${secret}`)).toEqual([{ id: 'k1', secret }]);
  });

  it('accepts the development keys', () => {
    expect(schema.parse(DEV_SERVICE_KEYS)).toEqual([{ id: 'dev', secret: 'carwash-development-only-service-key-0123456789' }]);
  });

  it('refuses a secret shorter than 32 characters', () => {
    const result = schema.safeParse(`k1:${'a'.repeat(31)}`);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/at least 32 characters/);
  });

  it('refuses a pair with a missing id or no colon', () => {
    expect(schema.safeParse(`:${SECRET_A}`).success).toBe(false);
    expect(schema.safeParse(SECRET_A + SECRET_A).success).toBe(false);
  });

  it('refuses an id with characters outside [A-Za-z0-9_.-]', () => {
    expect(schema.safeParse(`bad id:${SECRET_A}`).success).toBe(false);
  });

  it('refuses a list where only one of several pairs is bad', () => {
    expect(schema.safeParse(`good:${SECRET_A},bad:short`).success).toBe(false);
  });

  it('refuses a value with no pairs at all', () => {
    const result = schema.safeParse(' , ');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/at least one/);
  });

  it('names the setting in loadConfig when the keys are bad', () => {
    const err = configErrorOf(() => loadConfig('svc', { SERVICE_HMAC_KEYS: setting.hmacKeys() }, { SERVICE_HMAC_KEYS: 'k:short' }));
    expect(err.problems).toEqual([expect.stringMatching(/^SERVICE_HMAC_KEYS: expected keyId:secret pairs/)]);
  });
});

describe('setting.bool', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads %s as %s', (raw, expected) => {
    expect(loadConfig('svc', { FLAG: setting.bool(!expected) }, { FLAG: raw }).FLAG).toBe(expected);
  });

  it('applies the default when unset or empty', () => {
    expect(loadConfig('svc', { FLAG: setting.bool(true) }, {}).FLAG).toBe(true);
    expect(loadConfig('svc', { FLAG: setting.bool(false) }, { FLAG: '' }).FLAG).toBe(false);
  });

  it('refuses anything else, naming the setting', () => {
    const err = configErrorOf(() => loadConfig('svc', { FLAG: setting.bool(false) }, { FLAG: 'maybe' }));
    expect(err.problems).toEqual([expect.stringMatching(/^FLAG: /)]);
  });
});

describe(requireProductionSecrets.name, () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.NODE_ENV;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  });

  it('refuses the development key in production, naming the setting', () => {
    process.env.NODE_ENV = 'production';
    const err = configErrorOf(() => requireProductionSecrets('auth', { SERVICE_HMAC_KEYS: DEV_SERVICE_KEYS }));
    expect(err.service).toBe('auth');
    expect(err.problems).toEqual(['SERVICE_HMAC_KEYS: must be set to a real secret in production']);
  });

  it('refuses an unset secret in production', () => {
    process.env.NODE_ENV = 'production';
    const err = configErrorOf(() => requireProductionSecrets('auth', { SERVICE_HMAC_KEYS: `prod:${SECRET_A}`, AUTH_JWT_PRIVATE_KEYS: undefined }));
    expect(err.problems).toEqual(['AUTH_JWT_PRIVATE_KEYS: must be set to a real secret in production']);
  });

  it('accepts real secrets in production', () => {
    process.env.NODE_ENV = 'production';
    expect(() => requireProductionSecrets('auth', { SERVICE_HMAC_KEYS: `prod:${SECRET_A}` })).not.toThrow();
  });

  it('allows the development key outside production', () => {
    process.env.NODE_ENV = 'test';
    expect(() => requireProductionSecrets('auth', { SERVICE_HMAC_KEYS: DEV_SERVICE_KEYS, AUTH_JWT_PRIVATE_KEYS: undefined })).not.toThrow();
  });
});
