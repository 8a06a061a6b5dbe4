import { hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import {
  boolean,
  type ConfigOf,
  ConnectionSpec,
  duration,
  integer,
  loadConfig,
  oneOf,
  optionalSecret,
  optionalString,
  port,
  string,
  trustProxy,
  url,
} from '@africhain/config'
import { DISTINCT_CAP, RAPID_CAP, type RiskRules } from './domain/risk-rules.ts'
import { parseWebhooks } from './notifier/webhooks.ts'

export const ROLES = ['worker', 'api', 'notifier', 'all'] as const
export type Role = (typeof ROLES)[number]

/** Every variable the analytics service reads (docs/configuration.md); the first group's names and defaults are the external contract's. */
export const AnalyticsConfigSpec = {
  ...ConnectionSpec,
  ANALYTICS_PORT: port(3002),
  TRUST_PROXY: trustProxy,
  TOKEN_SERVICE_URL: url('http://127.0.0.1:3001', ['http:', 'https:']),
  TOKEN_ISSUER: string('africhain-token-service'),
  TOKEN_AUDIENCE: string('africhain'),
  EVENTS_STREAM: string('session-events'),
  ALERTS_STREAM: string('security-alerts'),
  /** `worker` consumes the stream, `api` serves HTTP, `notifier` delivers alerts to webhooks, `all` (the default) all three. */
  ANALYTICS_ROLE: oneOf<Role>('all', ROLES),
  LOG_LEVEL: oneOf('info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),

  /** Consumer group of the workers; every copy joins it. */
  CONSUMER_GROUP: string('analytics'),
  /** Unique per process: pending entries belong to a consumer name. */
  CONSUMER_NAME: string(`${hostname()}-${process.pid}`),
  BATCH_SIZE: integer(2000, 1, 10_000),
  /**
   * A read of fewer than BATCH_SIZE entries waits this long for more before it is stored, so one batch (its
   * transactions, one XACK) can carry several of the relay's bursts. Off by default: the token relay already
   * sends ~50 ms of commits as one burst, which is one read, and while one consumer waits the other takes
   * the next burst, so a shorter wait merges nothing (docs/performance.md).
   */
  BATCH_LINGER_MS: integer(0, 0, 1000),
  /** Consumers per worker process (each its own blocking connection and transaction at a time). */
  WORKER_CONCURRENCY: integer(2, 1, 64),
  /**
   * Each batch is split by user into this many parts, stored by as many transactions side by side (one
   * lane per part in the process): parts never wait for each other's row locks.
   */
  INGEST_PARTITIONS: integer(4, 1, 64),
  /** Entries idle this long in a consumer's pending list are claimed by another (above the slowest batch). */
  CLAIM_IDLE: duration('30s'),
  MAX_DELIVERIES: integer(5, 1, 1000),
  DEAD_LETTER_STREAM: optionalString,
  /** How often the worker compares the stream with what it has processed, looking for trimmed entries. */
  GAP_CHECK_INTERVAL: duration('30s'),
  /** How long published alerts are kept, to publish them again if Redis loses them (configuration.md). */
  OUTBOX_RETENTION: duration('2h', 60),
  /** Worker-only processes can serve /health and /metrics here (unset: no listener). */
  WORKER_METRICS_PORT: port(0),

  RISK_WINDOW: duration('24h'),
  /** `suspicious` is `riskScore > RISK_SUSPICIOUS_SCORE`; crossing it publishes a `risk.alert`. */
  RISK_SUSPICIOUS_SCORE: integer(50, 0, 99),
  RISK_MULTIPLE_IPS: integer(3, 1, DISTINCT_CAP),
  /** RAPID_ACTIVITY fires above this many logins, refreshes or failed logins within RISK_RAPID_WINDOW. */
  RISK_RAPID_ACTIVITY: integer(10, 1, RAPID_CAP - 1),
  RISK_RAPID_WINDOW: duration('60s'),
  RISK_REVOCATIONS: integer(1, 1, 1000),
  RISK_MULTIPLE_DEVICES: integer(3, 1, DISTINCT_CAP),
  RISK_TOKEN_REUSE: integer(1, 1, 1000),
  RISK_FAILED_LOGINS: integer(5, 1, 100_000),

  /** Where risk alerts are delivered (notifier/webhooks.ts): `name=json:url` or `name=slack:url`, comma-separated. */
  ALERT_WEBHOOKS: parseWebhooks,
  /** Signs every json webhook delivery (HMAC-SHA256 over timestamp and body); never logged. */
  ALERT_WEBHOOK_SECRET: optionalSecret(32),
  NOTIFIER_GROUP: string('notifier'),
  /** Attempts per alert and hook before it goes to the dead-letter stream. */
  NOTIFIER_MAX_ATTEMPTS: integer(5, 1, 20),
  /** The first retry waits about this long, each next one twice as long (with jitter), at most NOTIFIER_RETRY_MAX_MS. */
  NOTIFIER_RETRY_BASE_MS: integer(1000, 1, 600_000),
  NOTIFIER_RETRY_MAX_MS: integer(60_000, 1, 3_600_000),
  NOTIFIER_TIMEOUT_MS: integer(5000, 100, 60_000),
  NOTIFIER_DEAD_LETTER_STREAM: optionalString,

  /** Open `GET /analytics/live` streams per API process at most; one more answers 429 RATE_LIMITED. */
  LIVE_MAX_STREAMS: integer(100, 1, 10_000),
  /** …of which one user holds at most this many: one analyst (or a stolen token) cannot lock the others out. */
  LIVE_MAX_STREAMS_PER_USER: integer(5, 1, 10_000),
  /** A comment line this often keeps idle live streams (and the proxies on their way) open. */
  LIVE_HEARTBEAT: duration('15s'),
  /** Every open live stream's token is verified again this often (revocation, expiry); it ends when it fails. */
  LIVE_RECHECK: duration('5s'),

  REDIS_COMMAND_TIMEOUT_MS: integer(2000, 50, 60_000),
  DB_POOL_SIZE: integer(16, 1, 256),
  MIGRATE_ON_START: boolean(true),

  /** The security console's production build (served at /console); default packages/console/dist. */
  CONSOLE_DIR: string(fileURLToPath(new URL('../../../packages/console/dist', import.meta.url))),
  /**
   * The token service as the analyst's browser reaches it (the console signs in there); default
   * TOKEN_SERVICE_URL. Also the only other origin the console's Content-Security-Policy lets it connect to.
   */
  CONSOLE_TOKEN_URL: (raw: string | undefined) =>
    raw === undefined || raw === '' ? undefined : url('', ['http:', 'https:'])(raw),
}

export type AnalyticsConfig = ConfigOf<typeof AnalyticsConfigSpec>

export function loadAnalyticsConfig(env: Record<string, string | undefined> = process.env): AnalyticsConfig {
  return loadConfig(AnalyticsConfigSpec, env)
}

export function riskRulesOf(config: AnalyticsConfig): RiskRules {
  return {
    windowMs: config.RISK_WINDOW * 1000,
    suspiciousAbove: config.RISK_SUSPICIOUS_SCORE,
    multipleIps: config.RISK_MULTIPLE_IPS,
    rapidActivity: config.RISK_RAPID_ACTIVITY,
    rapidWindowMs: config.RISK_RAPID_WINDOW * 1000,
    revocations: config.RISK_REVOCATIONS,
    multipleDevices: config.RISK_MULTIPLE_DEVICES,
    tokenReuse: config.RISK_TOKEN_REUSE,
    failedLogins: config.RISK_FAILED_LOGINS,
  }
}

export function deadLetterStreamOf(config: AnalyticsConfig): string {
  return config.DEAD_LETTER_STREAM ?? `${config.EVENTS_STREAM}:dead`
}

/**
 * How long the process may take to close after SIGTERM (HTTP, in-flight batches acknowledged) before
 * server.ts forces it out. Deployment grace periods must exceed it: `pnpm check:infra` compares them.
 */
export const SHUTDOWN_DEADLINE_MS = 20_000

/**
 * The port the health routes answer on: the API's, or for a worker-only process its metrics port, which
 * is off (undefined: nothing to probe) when WORKER_METRICS_PORT is 0.
 */
export function probePortOf(
  config: Pick<AnalyticsConfig, 'ANALYTICS_ROLE' | 'ANALYTICS_PORT' | 'WORKER_METRICS_PORT'>,
): number | undefined {
  // The HTTP API (role api or all) answers its probes; a worker or notifier alone, its metrics port.
  if (config.ANALYTICS_ROLE === 'api' || config.ANALYTICS_ROLE === 'all') return config.ANALYTICS_PORT
  return config.WORKER_METRICS_PORT > 0 ? config.WORKER_METRICS_PORT : undefined
}
