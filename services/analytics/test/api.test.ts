import type { SessionEvent } from '@africhain/events'
import { Redis } from 'ioredis'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.ts'
import { DEFAULT_RISK_RULES } from '../src/domain/risk-rules.ts'
import { utcDay } from '../src/domain/time.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import { useTestApp } from './helpers/app.ts'
import { failedLogin, login, refresh, reuse, revoke, type Who } from './helpers/events.ts'

const logs: string[] = []
const file = useTestApp('api', { log: { level: 'info', stream: { write: (line) => void logs.push(line) } } })
const { app, db, issuer, redis } = file

const NOW = Date.now()
const today = utcDay(NOW)
const alice: Who = {
  userId: 'alice',
  sessionId: 'alice-s1',
  ip: '196.201.214.10',
  platform: 'android',
  deviceId: 'a1',
}
const alice2: Who = {
  userId: 'alice',
  sessionId: 'alice-s2',
  ip: '196.201.214.10',
  platform: 'web',
  deviceId: 'a2',
}
const bob = (n: number): Who => ({
  userId: 'bob',
  sessionId: `bob-s${n}`,
  ip: `41.90.0.${n}`,
  platform: 'ussd',
  deviceId: `b${n}`,
})
// Seven events for alice over the last hour; bob replays a token from four networks.
const aliceEvents: SessionEvent[] = [
  login(alice, NOW - 3600_000),
  refresh(alice, NOW - 3000_000),
  refresh(alice, NOW - 2400_000),
  login(alice2, NOW - 1800_000),
  refresh(alice2, NOW - 1200_000),
  revoke(alice2, NOW - 600_000, 'logout'),
  refresh(alice, NOW - 60_000),
]
const bobEvents: SessionEvent[] = [
  ...[1, 2, 3, 4].map((n) => login(bob(n), NOW - 3600_000 + n * 1000)),
  reuse(bob(1), NOW - 1000_000),
  revoke(bob(1), NOW - 999_000, 'reuse_detected'),
  failedLogin(undefined, NOW - 500_000),
]

type Caller = 'anonymous' | 'alice' | 'bob' | 'security' | 'admin'
const tokens = {} as Record<Exclude<Caller, 'anonymous'>, string>

async function get(url: string, as: Caller = 'alice', token?: string) {
  const auth = token ?? (as === 'anonymous' ? undefined : tokens[as])
  return app.inject({ method: 'GET', url, headers: auth ? { authorization: `Bearer ${auth}` } : {} })
}

beforeAll(async () => {
  await ingestBatch(db, [...aliceEvents, ...bobEvents], { rules: DEFAULT_RISK_RULES })
  tokens.alice = await issuer.mint('alice')
  tokens.bob = await issuer.mint('bob')
  tokens.security = await issuer.mint('sec-1', ['user', 'security'])
  tokens.admin = await issuer.mint('adm-1', ['admin'])
})

describe('authentication on every analytics route', () => {
  const routes = [
    '/analytics',
    '/analytics/user',
    '/analytics/events',
    '/analytics/security',
    '/analytics/security/flagged',
    '/analytics/report',
  ]

  it.each(routes)('%s: no token → 401 TOKEN_MISSING with WWW-Authenticate', async (url) => {
    const res = await get(url, 'anonymous')
    expect(res.statusCode).toBe(401)
    expect(res.json()).toMatchObject({ statusCode: 401, code: 'TOKEN_MISSING', error: 'Unauthorized' })
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"')
  })

  it.each(routes)('%s: malformed or forged token → 401 TOKEN_INVALID', async (url) => {
    for (const token of ['garbage', 'a.b.c', `${tokens.alice.slice(0, -4)}AAAA`]) {
      const res = await get(url, 'alice', token)
      expect(res.statusCode).toBe(401)
      expect(res.json().code).toBe('TOKEN_INVALID')
    }
  })

  it('an expired token → 401 TOKEN_EXPIRED', async () => {
    const expired = await issuer.mint('alice', ['user'], { expiresIn: 60, issuedSecondsAgo: 3600 })
    const res = await get('/analytics/user', 'alice', expired)
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('TOKEN_EXPIRED')
  })

  it('a revoked session → 401 TOKEN_REVOKED on the next request', async () => {
    const token = await issuer.mint('alice', ['user'], { sessionState: 'r' })
    const res = await get('/analytics/user', 'alice', token)
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('TOKEN_REVOKED')
  })

  it('an unknown session state (Redis lost it) → 503, failing closed', async () => {
    const token = await issuer.mint('alice', ['user'], { sessionState: null })
    const res = await get('/analytics/user', 'alice', token)
    expect(res.statusCode).toBe(503)
    expect(res.json()).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', error: 'Service Unavailable' })
  })
})

describe('authorisation', () => {
  // [route, normal user gets, security gets]: security-only routes are 403 for users.
  const table: [string, number, number][] = [
    ['/analytics', 403, 200],
    ['/analytics/user', 200, 200],
    ['/analytics/events', 200, 200],
    ['/analytics/security', 200, 200],
    ['/analytics/security/flagged', 403, 200],
    ['/analytics/report', 403, 200],
  ]

  it.each(table)('%s: user %i, security %i, admin like security', async (url, user, security) => {
    const asUser = await get(url, 'alice')
    expect(asUser.statusCode).toBe(user)
    if (user === 403) expect(asUser.json()).toMatchObject({ code: 'FORBIDDEN', error: 'Forbidden' })
    expect((await get(url, 'security')).statusCode).toBe(security)
    expect((await get(url, 'admin')).statusCode).toBe(security)
  })

  it.each(['/analytics/user', '/analytics/events', '/analytics/security'])(
    '%s?userId= of someone else: 403 for a user, their data for security and admin',
    async (path) => {
      const denied = await get(`${path}?userId=bob`, 'alice')
      expect(denied.statusCode).toBe(403)
      expect(denied.json().code).toBe('FORBIDDEN')
      expect((await get(`${path}?userId=alice`, 'alice')).statusCode).toBe(200)
      for (const caller of ['security', 'admin'] as const) {
        const res = await get(`${path}?userId=bob`, caller)
        expect(res.statusCode).toBe(200)
        const body = res.json()
        if (path === '/analytics/events')
          expect(body.events.every((e: SessionEvent) => e.userId === 'bob')).toBe(true)
        else expect(body.userId).toBe('bob')
      }
    },
  )

  it('without userId a caller gets their own data', async () => {
    expect((await get('/analytics/security', 'bob')).json().userId).toBe('bob')
    const events = (await get('/analytics/events', 'alice')).json().events as SessionEvent[]
    expect(events.length).toBe(aliceEvents.length)
    expect(events.every((e) => e.userId === 'alice')).toBe(true)
  })
})

describe('validation → 400 VALIDATION_FAILED', () => {
  it.each([
    '/analytics/user?foo=1',
    '/analytics?userId=bob',
    '/analytics/events?limit=0',
    '/analytics/events?limit=501',
    '/analytics/events?limit=ten',
    '/analytics/events?type=session.exploded',
    '/analytics/events?from=yesterday',
    '/analytics/events?to=2026-13-40T00:00:00Z',
    '/analytics/events?cursor=not-a-cursor',
    '/analytics/events?cursor=WzEsIjxzY3JpcHQ-Il0',
    '/analytics/report?date=2026-02-30',
    '/analytics/report?date=27-11-2026',
    '/analytics/report?date=2026-11-27&x=1',
    '/analytics/security/flagged?limit=100000',
  ])('%s', async (url) => {
    const res = await get(url, 'security')
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', error: 'Bad Request' })
  })
})

describe('contract shapes and values', () => {
  it('GET /analytics: system-wide SessionAnalytics with data completeness', async () => {
    const body = (await get('/analytics', 'security')).json()
    expect(body).toMatchObject({
      totalActiveSessions: 4, // alice-s1 and bob s2..s4; alice-s2 logged out, bob-s1 revoked
      userActiveSessions: 2,
      deviceBreakdown: { android: 1, ussd: 3 },
      securityEvents: { tokenRefreshes: 4, tokenRevocations: 2, suspiciousActivity: 1 },
      dataCompleteness: { complete: true, gaps: 0, missingEvents: 0, lastGapAt: null },
    })
    expect(body.sessionDuration.max).toBeGreaterThanOrEqual(3599)
    expect(body.sessionDuration.median).toBeGreaterThan(0)
    expect(Date.parse(body.generatedAt)).not.toBeNaN()
  })

  it('GET /analytics/user: the caller’s analytics', async () => {
    const body = (await get('/analytics/user', 'alice')).json()
    expect(body).toMatchObject({
      userId: 'alice',
      activeSessions: 1,
      deviceBreakdown: { android: 1 },
      securityEvents: { tokenRefreshes: 4, tokenRevocations: 1, suspiciousActivity: 0, failedLogins: 0 },
      riskScore: 0,
      suspicious: false,
    })
    expect(body.sessionDuration.max).toBeGreaterThanOrEqual(3599)
  })

  it('GET /analytics/security: factors, points and recommendations', async () => {
    const body = (await get('/analytics/security?userId=bob', 'security')).json()
    expect(body).toMatchObject({ userId: 'bob', riskScore: 100, suspicious: true })
    expect(body.factors.map((f: { code: string }) => f.code)).toEqual([
      'MULTIPLE_IPS',
      'TOKEN_REVOCATIONS',
      'MULTIPLE_DEVICES',
      'TOKEN_REUSE',
    ])
    expect(body.factors[0]).toEqual({ code: 'MULTIPLE_IPS', points: 30, detail: { distinctIps: 4 } })
    expect(body.recommendations.length).toBeGreaterThan(0)
  })

  it('GET /analytics/security/flagged: suspicious users only, highest first', async () => {
    const body = (await get('/analytics/security/flagged', 'security')).json()
    expect(body.users.map((u: { userId: string }) => u.userId)).toEqual(['bob'])
    expect(body.users[0].riskScore).toBe(100)
  })

  it('GET /analytics/report: today by default (UTC), hourly and comparison', async () => {
    const body = (await get('/analytics/report', 'security')).json()
    const events = [...aliceEvents, ...bobEvents].filter((e) => e.occurredAt.startsWith(today))
    expect(body.date).toBe(today)
    expect(body.hourly).toHaveLength(24)
    expect(body.hourly.reduce((a: number, b: number) => a + b, 0)).toBe(events.length)
    expect(body.logins).toBe(events.filter((e) => e.type === 'session.created').length)
    expect(body.comparedToPreviousDay.date).toBe(utcDay(NOW - 86_400_000))
    const explicit = (await get(`/analytics/report?date=${today}`, 'security')).json()
    expect({ ...explicit, generatedAt: 0 }).toEqual({ ...body, generatedAt: 0 })
    const empty = (await get('/analytics/report?date=2020-01-01', 'security')).json()
    expect(empty).toMatchObject({ logins: 0, uniqueUsers: 0, hourly: Array(24).fill(0) })
  })
})

describe('GET /analytics/events', () => {
  it('pages newest first with an opaque cursor, no event twice, null at the end', async () => {
    const seen: SessionEvent[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
      const res = await get(`/analytics/events?limit=3${q}`, 'alice')
      expect(res.statusCode).toBe(200)
      const body = res.json() as { events: SessionEvent[]; nextCursor: string | null }
      seen.push(...body.events)
      cursor = body.nextCursor
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    expect(seen.map((e) => e.id)).toEqual(
      [...aliceEvents].sort((a, b) => Date.parse(b.occurredAt) - Date.parse(a.occurredAt)).map((e) => e.id),
    )
    expect(seen[0]).toEqual(aliceEvents[6]) // the stored envelope, unchanged
  })

  it('filters by type and by time ([from, to) in UTC)', async () => {
    const refreshes = (await get('/analytics/events?type=session.refreshed', 'alice')).json()
      .events as SessionEvent[]
    expect(refreshes).toHaveLength(4)
    expect(refreshes.every((e) => e.type === 'session.refreshed')).toBe(true)
    const from = aliceEvents[3]!.occurredAt
    const to = aliceEvents[6]!.occurredAt
    const window = (await get(`/analytics/events?from=${from}&to=${to}`, 'alice')).json()
      .events as SessionEvent[]
    expect(window.map((e) => e.id)).toEqual([aliceEvents[5]!.id, aliceEvents[4]!.id, aliceEvents[3]!.id])
  })
})

describe('operations', () => {
  it('/metrics exposes consumer lag, dead letters, gaps and HTTP metrics', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    for (const name of [
      'analytics_consumer_pending',
      'analytics_consumer_lag_seconds',
      'analytics_dead_letters',
      'analytics_stream_gaps',
      'analytics_http_requests_total',
    ])
      expect(res.body).toContain(name)
  })

  it('/docs/json documents every route', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/analytics',
        '/analytics/user',
        '/analytics/events',
        '/analytics/security',
        '/analytics/security/flagged',
        '/analytics/report',
      ]),
    )
  })

  it('/health/live is 200 and /health/ready 503 while Redis or MySQL is down', async () => {
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200)
    const deadRedis = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    deadRedis.on('error', () => {}) // refused on purpose; unheard, ioredis prints "Unhandled error event"
    const { createDb } = await import('@africhain/db')
    const deadDb = createDb({ url: 'mysql://root@127.0.0.1:1/nothing', connectTimeoutMs: 300 })
    for (const deps of [
      { redis: deadRedis, db: db },
      { redis, db: deadDb as typeof db },
    ]) {
      const broken = await buildApp(file.config, deps)
      expect((await broken.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
      const ready = await broken.inject({ method: 'GET', url: '/health/ready' })
      expect(ready.statusCode).toBe(503)
      await broken.close()
    }
    deadRedis.disconnect()
    await deadDb.destroy().catch(() => {})
  })

  it('a database outage answers 503 DEPENDENCY_UNAVAILABLE, not 500', async () => {
    const { createDb } = await import('@africhain/db')
    const deadDb = createDb({ url: 'mysql://root@127.0.0.1:1/nothing', connectTimeoutMs: 300 })
    const broken = await buildApp(file.config, { redis, db: deadDb as typeof db })
    const res = await broken.inject({
      method: 'GET',
      url: '/analytics/user',
      headers: { authorization: `Bearer ${tokens.alice}` },
    })
    expect(res.statusCode).toBe(503)
    expect(res.json().code).toBe('DEPENDENCY_UNAVAILABLE')
    await broken.close()
    // mysql2 rejects end() on a pool whose connections never opened.
    await deadDb.destroy().catch(() => {})
  })

  it('never writes a token to the logs', () => {
    expect(logs.length).toBeGreaterThan(0)
    expect(logs.join('\n')).not.toContain('eyJ')
  })
})
