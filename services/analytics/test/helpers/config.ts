import { randomBytes } from 'node:crypto'
import { type AnalyticsConfig, loadAnalyticsConfig } from '../../src/config.ts'

/** Environment of one test file: its own key prefix and stream names (plus the overrides). */
export function testEnv(overrides: Record<string, string>): Record<string, string> {
  const suffix = randomBytes(4).toString('hex')
  return {
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `test:analytics:${suffix}:`,
    EVENTS_STREAM: `events-${suffix}`,
    ALERTS_STREAM: `alerts-${suffix}`,
    LOG_LEVEL: 'silent',
    CONSUMER_NAME: `test-${suffix}`,
    WORKER_CONCURRENCY: '1',
    MIGRATE_ON_START: 'false',
    ...overrides,
  }
}

export function testConfig(overrides: Record<string, string>): AnalyticsConfig {
  return loadAnalyticsConfig(testEnv(overrides))
}
