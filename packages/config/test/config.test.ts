import { describe, expect, it } from 'vitest'
import { ConfigError, duration, loadConfig, rateLimit, trustProxy } from '../src/index.ts'
import { parseDuration } from '../src/parsers.ts'

describe('parseDuration', () => {
  it.each([
    ['900', 900],
    ['900s', 900],
    ['15m', 900],
    ['2h', 7200],
    ['7d', 604800],
  ])('%s is %i seconds', (raw, seconds) => expect(parseDuration(raw)).toBe(seconds))

  it.each(['0', '0s', '-5', '15 minutes', '1.5m', 'Infinity', 'NaN', '', '1w', '9999999999d'])(
    'rejects %j',
    (raw) => expect(() => parseDuration(raw)).toThrow(),
  )
})

describe('loadConfig', () => {
  const spec = {
    ACCESS_TOKEN_TTL: duration('15m'),
    RATE_LIMIT_LOGIN: rateLimit('20/1m'),
    TRUST_PROXY: trustProxy,
  }

  it('applies defaults and freezes the result', () => {
    const config = loadConfig(spec, {})
    expect(config).toEqual({
      ACCESS_TOKEN_TTL: 900,
      RATE_LIMIT_LOGIN: { max: 20, windowSeconds: 60 },
      TRUST_PROXY: false,
    })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('lists every bad variable by name', () => {
    try {
      loadConfig(spec, { ACCESS_TOKEN_TTL: 'forever', RATE_LIMIT_LOGIN: '20 per minute' })
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError)
      const problems = (err as ConfigError).problems
      expect(problems).toHaveLength(2)
      expect(problems[0]).toMatch(/^ACCESS_TOKEN_TTL: /)
      expect(problems[1]).toMatch(/^RATE_LIMIT_LOGIN: /)
    }
  })

  it('accepts off for a rate limit', () => {
    expect(loadConfig(spec, { RATE_LIMIT_LOGIN: 'off' }).RATE_LIMIT_LOGIN).toBe('off')
  })
})
