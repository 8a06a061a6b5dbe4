import { describe, expect, it } from 'vitest'
import { type TestApp, useTestApp } from './helpers/app.ts'

// Two instances on one Redis: the per-IP budget is shared, as behind a load balancer.
const {
  apps: [a, b],
} = useTestApp('ratelimit', { env: { RATE_LIMIT_LOGIN: '4/1m', RATE_LIMIT_REFRESH: '3/1m' }, instances: 2 })

const attempt = (app: TestApp, ip: string, payload: unknown) =>
  app.inject({
    method: 'POST',
    url: '/auth/login',
    remoteAddress: ip,
    payload: payload as Record<string, unknown>,
  })

describe('rate limits', () => {
  it('share one budget per client IP across instances and answer 429 RATE_LIMITED with Retry-After', async () => {
    const body = { identifier: 'nobody@example.com', password: 'wrong password', device: { platform: 'web' } }
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await attempt(i % 2 ? a : b, '198.51.100.7', body)).statusCode)
    expect(statuses).toEqual([401, 401, 401, 401])
    const limited = await attempt(a, '198.51.100.7', body)
    expect(limited.statusCode).toBe(429)
    expect(limited.json().code).toBe('RATE_LIMITED')
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    // Another client IP has its own budget.
    expect((await attempt(b, '198.51.100.8', body)).statusCode).toBe(401)
  })

  it('is checked before the body is even validated, so no hashing or signature work happens', async () => {
    for (let i = 0; i < 4; i++) await attempt(a, '198.51.100.9', { not: 'a login' })
    const limited = await attempt(b, '198.51.100.9', { not: 'a login' })
    expect(limited.statusCode).toBe(429)
  })

  it('limits refresh-token per IP too', async () => {
    const codes = []
    for (let i = 0; i < 4; i++) {
      const res = await a.inject({
        method: 'POST',
        url: '/auth/refresh-token',
        remoteAddress: '198.51.100.10',
        payload: { refreshToken: `rt_${'x'.repeat(43)}` },
      })
      codes.push(res.json().code)
    }
    expect(codes).toEqual(['TOKEN_INVALID', 'TOKEN_INVALID', 'TOKEN_INVALID', 'RATE_LIMITED'])
  })
})
