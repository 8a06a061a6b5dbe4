import { ConfigError } from '@africhain/config'
import { describe, expect, it } from 'vitest'
import { deadLetterStreamOf, loadAnalyticsConfig, riskRulesOf } from '../src/config.ts'
import { DEFAULT_RISK_RULES } from '../src/domain/risk-rules.ts'

describe('analytics configuration', () => {
  it('has the contract defaults', () => {
    const c = loadAnalyticsConfig({})
    expect(c).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'mysql://root@127.0.0.1:3306/africhain',
      HOST: '127.0.0.1',
      ANALYTICS_PORT: 3002,
      TOKEN_SERVICE_URL: 'http://127.0.0.1:3001',
      TOKEN_ISSUER: 'africhain-token-service',
      TOKEN_AUDIENCE: 'africhain',
      EVENTS_STREAM: 'session-events',
      ALERTS_STREAM: 'security-alerts',
      ANALYTICS_ROLE: 'all',
      TRUST_PROXY: false,
      REDIS_KEY_PREFIX: undefined,
    })
    expect(c.CONSUMER_NAME).toMatch(/-\d+$/)
    expect(riskRulesOf(c)).toEqual(DEFAULT_RISK_RULES)
    expect(deadLetterStreamOf(c)).toBe('session-events:dead')
    expect(Object.isFrozen(c)).toBe(true)
  })

  it('reads the risk window and thresholds', () => {
    const rules = riskRulesOf(
      loadAnalyticsConfig({ RISK_WINDOW: '6h', RISK_SUSPICIOUS_SCORE: '40', RISK_RAPID_WINDOW: '2m' }),
    )
    expect(rules).toMatchObject({ windowMs: 6 * 3600_000, suspiciousAbove: 40, rapidWindowMs: 120_000 })
  })

  it.each([
    ['RISK_RAPID_ACTIVITY', '255', true],
    ['RISK_RAPID_ACTIVITY', '256', false],
    ['RISK_MULTIPLE_IPS', '256', true],
    ['RISK_MULTIPLE_IPS', '257', false],
  ])('%s=%s accepted: %s (thresholds stay inside what the score counts up to)', (name, value, ok) => {
    const load = () => loadAnalyticsConfig({ [name]: value })
    if (ok) expect(load).not.toThrow()
    else expect(load).toThrow(`${name}: "${value}" must be an integer 1..${Number(value) - 1}`)
  })

  it('lists every bad variable by name', () => {
    try {
      loadAnalyticsConfig({
        ANALYTICS_ROLE: 'both',
        ANALYTICS_PORT: 'x',
        RISK_WINDOW: 'forever',
        BATCH_SIZE: '0',
      })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      const names = (err as ConfigError).problems.map((p) => p.split(':')[0])
      expect(names).toEqual(['ANALYTICS_PORT', 'ANALYTICS_ROLE', 'BATCH_SIZE', 'RISK_WINDOW'])
    }
  })
})
