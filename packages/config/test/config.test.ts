import { afterEach, beforeEach, describe, it, expect } from 'vitest';
import {
  authJwksSettings,
  ConfigError,
  developmentServiceKey,
  FEATURE_PORTS,
  generateServiceKeys,
  loadConfig,
  loadFeatureConfig,
  peerGraphqlUrl,
  requireProductionSecrets,
  resolveServiceCredentials,
  serviceCredentialSettings,
  setting,
  z,
} from '../src/index.js';
import { thrown } from '@carwash/testing';

/** Runs `fn` and returns the ConfigError it throws, failing the test if it throws nothing else. */
const configErrorOf = (fn: () => unknown): ConfigError => thrown(fn, ConfigError);

const SECRET_A = 'a'.repeat(32);
const SECRET_B = 'b-0123456789-0123456789-0123456789';
const DEV_SECRET = 'carwash-development-only-secret-0123456789';

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
    const err = configErrorOf(() =>
      loadConfig(
        'svc',
        { POOL: setting.int(10, 1, 200), PORT: setting.port(1) },
        { POOL: '0', PORT: '70000' },
      ),
    );
    expect(err.problems.map((p) => p.split(':')[0]).sort()).toEqual(['POOL', 'PORT']);
  });

  it('treats an empty string as unset, so the default applies', () => {
    const config = loadConfig(
      'svc',
      { POOL: setting.int(10), NAME: z.string().default('carwash') },
      { POOL: '', NAME: '' },
    );
    expect(config).toEqual({ POOL: 10, NAME: 'carwash' });
  });

  it('reports an empty required setting as not set', () => {
    const err = configErrorOf(() =>
      loadConfig('svc', { DATABASE_URL: setting.postgresUrl() }, { DATABASE_URL: '' }),
    );
    expect(err.problems).toEqual([expect.stringMatching(/^DATABASE_URL: required but not set/)]);
  });

  it('ignores environment variables it was not asked about', () => {
    const config = loadConfig('svc', { NAME: z.string().default('x') }, { NAME: 'y', OTHER: 'z' });
    expect(config).toEqual({ NAME: 'y' });
  });

  it('refuses a database URL that is not postgresql://', () => {
    const err = configErrorOf(() =>
      loadConfig('svc', { DATABASE_URL: setting.postgresUrl() }, { DATABASE_URL: 'mysql://db/x' }),
    );
    expect(err.problems).toEqual(['DATABASE_URL: must be a postgresql:// URL']);
  });
});

describe('setting.signingKey', () => {
  const schema = setting.signingKey();

  it('parses one keyId:secret, keeping colons inside the secret', () => {
    expect(schema.parse(` k1:${SECRET_A} `)).toEqual({ id: 'k1', secret: SECRET_A });
    const secret = 'x:y:'.repeat(10);
    expect(schema.parse(`k1:${secret}`)).toEqual({ id: 'k1', secret });
  });

  it.each([
    ['a secret shorter than 32 characters', `k1:${'a'.repeat(31)}`],
    ['a missing id', `:${SECRET_A}`],
    ['no colon', SECRET_A + SECRET_A],
    ['an id outside [A-Za-z0-9_.-]', `bad id:${SECRET_A}`],
  ])('refuses %s', (_what, raw) => {
    const result = schema.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/at least 32 characters/);
  });
});

describe('setting.trustedKeys', () => {
  const schema = setting.trustedKeys();

  it('parses service=keyId:secret entries, several keys per service for a rotation', () => {
    expect(
      schema.parse(`gateway=gw2:${SECRET_A}, gateway=gw1:${SECRET_B},booking=bk1:${'c'.repeat(40)}`),
    ).toEqual([
      { service: 'gateway', id: 'gw2', secret: SECRET_A },
      { service: 'gateway', id: 'gw1', secret: SECRET_B },
      { service: 'booking', id: 'bk1', secret: 'c'.repeat(40) },
    ]);
  });

  it.each([
    ['an entry without a service', `gw1:${SECRET_A}`],
    ['a bad service name', `Gate Way=gw1:${SECRET_A}`],
    ['a short secret', 'gateway=gw1:short'],
    ['no entries at all', ' , '],
  ])('refuses %s', (_what, raw) => {
    expect(schema.safeParse(raw).success).toBe(false);
  });

  it('refuses one key id listed twice, even for two services', () => {
    const result = schema.safeParse(`gateway=k1:${SECRET_A},booking=k1:${SECRET_B}`);
    expect(result.error?.issues[0]?.message).toMatch(/"k1" is listed twice/);
  });

  it('refuses one secret shared by two services (each could sign as the other)', () => {
    const result = schema.safeParse(`gateway=gw:${SECRET_A},booking=bk:${SECRET_A}`);
    expect(result.error?.issues[0]?.message).toMatch(/every service needs its own secret/);
  });
});

describe(resolveServiceCredentials.name, () => {
  const load = (env: Record<string, string | undefined>, verifies = true) =>
    resolveServiceCredentials('payment', loadConfig('payment', serviceCredentialSettings(), env), {
      verifies,
      env,
    });

  it('refuses to start with no keys at all, naming both settings and the explicit development switch', () => {
    const err = configErrorOf(() => load({}));
    expect(err.service).toBe('payment');
    expect(err.problems).toEqual([
      expect.stringMatching(/^SERVICE_SIGNING_KEY: required .*SERVICE_CREDENTIALS=development/),
      expect.stringMatching(/^SERVICE_TRUSTED_KEYS: required .*SERVICE_CREDENTIALS=development/),
    ]);
  });

  it.each(['development', 'test', undefined])('refuses with no keys whatever NODE_ENV is (%s)', (nodeEnv) => {
    expect(() => load({ NODE_ENV: nodeEnv })).toThrow(ConfigError);
  });

  it('refuses the development keys given as real keys without SERVICE_CREDENTIALS=development', () => {
    const dev = developmentServiceKey('payment');
    const gw = developmentServiceKey('gateway');
    const err = configErrorOf(() =>
      load({
        SERVICE_SIGNING_KEY: `${dev.id}:${dev.secret}`,
        SERVICE_TRUSTED_KEYS: `gateway=${gw.id}:${gw.secret}`,
      }),
    );
    expect(err.problems).toEqual([
      'SERVICE_SIGNING_KEY: the development key is accepted only with SERVICE_CREDENTIALS=development',
      'SERVICE_TRUSTED_KEYS: development keys are accepted only with SERVICE_CREDENTIALS=development',
    ]);
  });

  it('uses real keys: this service signs as itself, and trusts each key for its own service only', () => {
    const keys = generateServiceKeys(['gateway', 'booking', 'payment'], 't1');
    const creds = load(keys.envFor('payment'));
    expect(creds.mode).toBe('keys');
    expect(creds.signing).toEqual(keys.credentials.payment);
    expect(creds.trusted.map((k) => `${k.service}:${k.id}`)).toEqual([
      'gateway:gateway-t1',
      'booking:booking-t1',
    ]);
  });

  it('needs only the signing key for a service that only calls (the gateway)', () => {
    const keys = generateServiceKeys(['gateway'], 't2');
    expect(load({ SERVICE_SIGNING_KEY: keys.signingKeys.gateway }, false)).toMatchObject({
      mode: 'keys',
      trusted: [],
    });
  });

  it('uses the built-in development keys only when told so explicitly, each bound to its service', () => {
    const creds = load({ SERVICE_CREDENTIALS: 'development' });
    expect(creds.mode).toBe('development');
    expect(creds.signing).toEqual({ service: 'payment', key: developmentServiceKey('payment') });
    expect(creds.trusted).toContainEqual({ service: 'booking', ...developmentServiceKey('booking') });
    expect(new Set(creds.trusted.map((k) => k.secret)).size).toBe(creds.trusted.length);
  });

  it('refuses SERVICE_CREDENTIALS=development with NODE_ENV=production', () => {
    const err = configErrorOf(() => load({ SERVICE_CREDENTIALS: 'development', NODE_ENV: 'production' }));
    expect(err.problems).toEqual([
      expect.stringMatching(/^SERVICE_CREDENTIALS: "development" is refused when NODE_ENV=production/),
    ]);
  });

  it('refuses development mode mixed with explicit keys', () => {
    const keys = generateServiceKeys(['payment'], 't3');
    expect(() =>
      load({ SERVICE_CREDENTIALS: 'development', SERVICE_SIGNING_KEY: keys.signingKeys.payment }),
    ).toThrow(/unset SERVICE_SIGNING_KEY/);
  });

  it('refuses the retired SERVICE_HMAC_KEYS, naming its replacements', () => {
    const err = configErrorOf(() => load({ SERVICE_HMAC_KEYS: `dev:${SECRET_A}` }));
    expect(err.problems).toEqual([
      expect.stringMatching(
        /^SERVICE_HMAC_KEYS: no longer supported: set SERVICE_SIGNING_KEY .* and SERVICE_TRUSTED_KEYS/,
      ),
    ]);
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
    const err = configErrorOf(() => requireProductionSecrets('auth', { AUTH_JWT_PRIVATE_KEYS: DEV_SECRET }));
    expect(err.service).toBe('auth');
    expect(err.problems).toEqual(['AUTH_JWT_PRIVATE_KEYS: must be set to a real secret in production']);
  });

  it('refuses an unset secret in production', () => {
    process.env.NODE_ENV = 'production';
    const err = configErrorOf(() =>
      requireProductionSecrets('auth', {
        OTHER_SECRET: `prod:${SECRET_A}`,
        AUTH_JWT_PRIVATE_KEYS: undefined,
      }),
    );
    expect(err.problems).toEqual(['AUTH_JWT_PRIVATE_KEYS: must be set to a real secret in production']);
  });

  it('accepts real secrets in production', () => {
    process.env.NODE_ENV = 'production';
    expect(() =>
      requireProductionSecrets('auth', { AUTH_JWT_PRIVATE_KEYS: `prod:${SECRET_A}` }),
    ).not.toThrow();
  });

  it('allows the development key outside production', () => {
    process.env.NODE_ENV = 'test';
    expect(() =>
      requireProductionSecrets('auth', { OTHER_SECRET: DEV_SECRET, AUTH_JWT_PRIVATE_KEYS: undefined }),
    ).not.toThrow();
  });
});

describe(loadFeatureConfig.name, () => {
  const dev = { SERVICE_CREDENTIALS: 'development' };

  it("names the shared settings after the feature, with the feature's own defaults", () => {
    const config = loadFeatureConfig('wash', { port: 4100, settings: { WASH_FOAM: setting.int(3) } }, dev);
    expect(config).toMatchObject({
      WASH_PORT: 4100,
      WASH_HOST: '127.0.0.1',
      WASH_DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/carwash_wash',
      WASH_DATABASE_POOL_SIZE: 10,
      EVENT_BUS: 'redis',
      REVOCATION_CACHE_TTL_MS: 1000,
      MAX_REQUEST_BYTES: 16 * 1024 * 1024,
      LOG_LEVEL: 'info',
      WASH_FOAM: 3,
    });
    expect(config.credentials.mode).toBe('development');
    expect(config.credentials.signing.service).toBe('wash');
  });

  it("takes a known feature's port from FEATURE_PORTS, and siblings' default URLs from the same table", () => {
    const config = loadFeatureConfig(
      'booking',
      { settings: { LOCATION_GRAPHQL_URL: peerGraphqlUrl('location') } },
      dev,
    );
    expect(config.BOOKING_PORT).toBe(FEATURE_PORTS.booking);
    expect(config.LOCATION_GRAPHQL_URL).toBe(`http://127.0.0.1:${FEATURE_PORTS.location}/graphql`);
    expect(config.AUTH_JWKS_URL).toBe(`http://127.0.0.1:${FEATURE_PORTS.auth}/.well-known/jwks.json`);
  });

  it("gives every feature but auth auth's public keys to verify access tokens with, unless told otherwise", () => {
    const jwks = 'http://auth.internal:4001/.well-known/jwks.json';
    expect(
      loadFeatureConfig('location', { settings: {} }, { ...dev, AUTH_JWKS_URL: jwks }).AUTH_JWKS_URL,
    ).toBe(jwks);
    // Spreading authJwksSettings() as well (a feature written before it was added) changes nothing.
    expect(loadFeatureConfig('payment', { settings: { ...authJwksSettings() } }, dev).AUTH_JWKS_URL).toBe(
      `http://127.0.0.1:${FEATURE_PORTS.auth}/.well-known/jwks.json`,
    );
    // Auth verifies with its own keys: it has no such setting.
    expect(loadFeatureConfig('auth', { settings: {} }, dev)).not.toHaveProperty('AUTH_JWKS_URL');
  });

  it('refuses to guess the port of a feature it does not know', () => {
    expect(() => loadFeatureConfig('wash', { settings: {} }, dev)).toThrow(/wash: no port in FEATURE_PORTS/);
  });

  it('reports bad shared and own settings together, each by name', () => {
    const err = configErrorOf(() =>
      loadFeatureConfig(
        'wash',
        { port: 4100, settings: { WASH_FOAM: setting.int(3, 1, 5) } },
        { ...dev, WASH_PORT: 'eighty', WASH_DATABASE_POOL_SIZE: '0', WASH_FOAM: '9' },
      ),
    );
    expect(err.service).toBe('wash');
    expect(err.problems.map((p) => p.split(':')[0])).toEqual([
      'WASH_PORT',
      'WASH_DATABASE_POOL_SIZE',
      'WASH_FOAM',
    ]);
  });

  it("runs the feature's own checks before it asks for keys", () => {
    const check = () => {
      throw new ConfigError('wash', ['WASH_FOAM: refused']);
    };
    expect(() => loadFeatureConfig('wash', { port: 4100, settings: {}, check }, {})).toThrow(
      /WASH_FOAM: refused/,
    );
    expect(() => loadFeatureConfig('wash', { port: 4100, settings: {} }, {})).toThrow(
      /SERVICE_SIGNING_KEY: required/,
    );
  });
});
