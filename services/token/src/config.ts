import {
  boolean,
  type ConfigOf,
  ConnectionSpec,
  duration,
  integer,
  loadConfig,
  oneOf,
  optionalInteger,
  optionalSecret,
  optionalString,
  originList,
  port,
  rateLimit,
  string,
  trustProxy,
} from '@africhain/config'

/** Every variable the token service reads (docs/configuration.md); the first group's names and defaults are the external contract's. */
export const TokenConfigSpec = {
  ...ConnectionSpec,
  TOKEN_PORT: port(3001),
  TRUST_PROXY: trustProxy,
  ACCESS_TOKEN_TTL: duration('15m'),
  REFRESH_TOKEN_TTL: duration('7d'),
  REFRESH_TOKEN_LONG_TTL: duration('30d'),
  REFRESH_REUSE_GRACE: duration('10s'),
  /**
   * How long an ended session (expired or revoked) and its refresh-token rows are kept before the janitor
   * deletes them. Past it, a token of that session is unknown (TOKEN_INVALID instead of TOKEN_EXPIRED or
   * TOKEN_REVOKED). The default exceeds REFRESH_TOKEN_LONG_TTL: a token of a revoked session keeps its
   * precise answer for as long as it could have lived.
   */
  SESSION_RETENTION: duration('35d', 3600, 'ended sessions must outlive their last access tokens'),
  EVENTS_STREAM: string('session-events'),
  /** How long published outbox rows are kept, to publish them again if Redis loses them (configuration.md). */
  OUTBOX_RETENTION: duration('2h', 60),
  EVENTS_STREAM_MAXLEN: integer(1_000_000, 1000, 1_000_000_000),
  ALERTS_STREAM: string('security-alerts'),
  RATE_LIMIT_LOGIN: rateLimit('20/1m'),
  RATE_LIMIT_REGISTER: rateLimit('10/1m'),
  RATE_LIMIT_REFRESH: rateLimit('120/1m'),
  RATE_LIMIT_INTROSPECT: rateLimit('6000/1m'),
  /** IPv6 clients are limited per network of this prefix length (an IPv6 subscriber owns a whole /64). */
  RATE_LIMIT_IPV6_PREFIX: integer(64, 0, 128),
  RISK_AUTO_REVOKE_SCORE: optionalInteger(1, 100),
  /** Browser origins whose pages may call this service (the security console); exact, never `*`. */
  CORS_ORIGINS: originList('http://127.0.0.1:3002,http://localhost:3002'),
  /** Issuer and audience of access tokens; resource servers pin both. */
  TOKEN_ISSUER: string('africhain-token-service'),
  TOKEN_AUDIENCE: string('africhain'),
  /** Encrypts private signing keys at rest (≥ 32 characters). Unset: keys are stored in clear, with a warning. */
  KEY_ENCRYPTION_SECRET: optionalSecret(32),
  /**
   * How long a rotated-in key is published before it signs. At least every instance's key reload (30 s)
   * plus a verifier's JWKS cache (60 s): sooner, a token signed with it meets verifiers that cannot know it.
   */
  KEY_ACTIVATION_DELAY: duration(
    '2m',
    90,
    'every instance reloads keys every 30 s and verifiers cache the JWKS for 60 s',
  ),
  /** Introspection clients: `id:sha256hex,...` (hash of the client secret; `pnpm cli client:create <id>`). */
  INTROSPECTION_CLIENTS: optionalString,
  /** scrypt cost as log2(N); 15 (32 MiB, ~50 ms) in production, tests may lower it. */
  PASSWORD_HASH_COST: integer(15, 10, 20),
  /** Password hashes computed at once per process (each holds 32 MiB and a libuv thread), and how many may wait; beyond that, 503 with Retry-After. */
  PASSWORD_HASH_CONCURRENCY: integer(4, 1, 256),
  PASSWORD_HASH_QUEUE: integer(32, 0, 10_000),
  LOGIN_LOCK_THRESHOLD: integer(5, 1, 1000),
  LOGIN_LOCK_WINDOW: duration('15m'),
  LOG_LEVEL: oneOf('info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
  /** Bound on every Redis command, so an outage answers 503 instead of hanging. */
  REDIS_COMMAND_TIMEOUT_MS: integer(1000, 50, 60_000),
  DB_POOL_SIZE: integer(16, 1, 256),
  /** Auto-run migrations at start (the quick start needs it; production may run `pnpm cli migrate` instead). */
  MIGRATE_ON_START: boolean(true),
}

export type TokenConfig = ConfigOf<typeof TokenConfigSpec>

export function loadTokenConfig(env: Record<string, string | undefined> = process.env): TokenConfig {
  return loadConfig(TokenConfigSpec, env)
}

/**
 * How long the process may take to close after SIGTERM (in-flight requests, the relay) before server.ts
 * forces it out. Deployment grace periods must exceed it: `pnpm check:infra` compares them.
 */
export const SHUTDOWN_DEADLINE_MS = 15_000

/** The port the health routes (and everything else) answer on; the image's health check asks it. */
export function probePortOf(config: Pick<TokenConfig, 'TOKEN_PORT'>): number {
  return config.TOKEN_PORT
}
