import { randomBytes } from 'node:crypto'
import { type AnalyticsConfig, loadAnalyticsConfig } from '../../src/config.ts'

/** A config for one test file: its own database, key prefix and stream names. */
export function testConfig(overrides: Record<string, string>): AnalyticsConfig {
  const suffix = randomBytes(4).toString('hex')
  return loadAnalyticsConfig({
    REDIS_URL: process.env.REDIS_URL,
    REDIS_KEY_PREFIX: `test:analytics:${suffix}:`,
    EVENTS_STREAM: `events-${suffix}`,
    ALERTS_STREAM: `alerts-${suffix}`,
    LOG_LEVEL: 'silent',
    CONSUMER_NAME: `test-${suffix}`,
    WORKER_CONCURRENCY: '1',
    MIGRATE_ON_START: 'false',
    ...overrides,
  })
}
