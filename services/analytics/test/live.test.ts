import { connect } from 'node:net'
import { encodeEvent } from '@africhain/events'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.ts'
import { loadAnalyticsConfig } from '../src/config.ts'
import { testEnv } from './helpers/config.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { failedLogin } from './helpers/events.ts'
import { dropRedis, eventually, REDIS_URL, redisFor } from './helpers/redis.ts'
import { SseClient } from './helpers/sse.ts'
import { type RunningTokenService, startTokenService } from './helpers/token-service.ts'

// GET /analytics/live against the real token service: its events reach the stream within 2 s, the
// stream ends when the analyst's session is revoked there, N streams share one Redis read per stream.
const env = testEnv({ LIVE_MAX_STREAMS: '4', LIVE_MAX_STREAMS_PER_USER: '2', LIVE_HEARTBEAT: '1s' })
let t: TestDb
let redis: Redis
let tokens: RunningTokenService
let app: Awaited<ReturnType<typeof buildApp>>
let base = ''
let analyst: Awaited<ReturnType<RunningTokenService['signIn']>>
let user: Awaited<ReturnType<RunningTokenService['signIn']>>
const open: SseClient[] = []

async function live(query = '', token = analyst.accessToken) {
  const client = await SseClient.open(`${base}/analytics/live${query}`, token)
  open.push(client)
  return client
}

async function tokenPost(path: string, body: unknown, token?: string) {
  return fetch(`${tokens.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  })
}

beforeAll(async () => {
  t = await testDatabase('live')
  tokens = await startTokenService({
    REDIS_URL: env.REDIS_URL!,
    REDIS_KEY_PREFIX: env.REDIS_KEY_PREFIX!,
    EVENTS_STREAM: env.EVENTS_STREAM!,
    ALERTS_STREAM: env.ALERTS_STREAM!,
  })
  const config = loadAnalyticsConfig({ ...env, DATABASE_URL: t.url, TOKEN_SERVICE_URL: tokens.url })
  redis = redisFor(config)
  app = await buildApp(config, { redis, db: t.db })
  base = await app.listen({ host: '127.0.0.1', port: 0 })
  analyst = await tokens.signIn(['user', 'security'])
  user = await tokens.signIn()
})

// Each test starts with no stream open (the cap is 4).
afterEach(async () => {
  for (const c of open.splice(0)) c.close()
  await eventually(async () => (await metric('analytics_live_streams')) === 0)
})

afterAll(async () => {
  await app?.close()
  await tokens?.close()
  await dropRedis(redis)
  await t?.drop()
})

describe('who may open the live feed', () => {
  // [caller, status, code]: checked at connect, before any stream is opened.
  const cases: [string, number, string, () => Promise<string | undefined>][] = [
    ['no token', 401, 'TOKEN_MISSING', async () => undefined],
    ['a user', 403, 'FORBIDDEN', async () => user.accessToken],
    [
      'a revoked analyst',
      401,
      'TOKEN_REVOKED',
      async () => {
        const other = await tokens.signIn(['security'])
        expect((await tokenPost('/auth/logout', undefined, other.accessToken)).status).toBe(204)
        return other.accessToken
      },
    ],
    ['a forged token', 401, 'TOKEN_INVALID', async () => `${analyst.accessToken.slice(0, -4)}AAAA`],
  ]
  it.each(cases)('%s → %i %s', async (_, status, code, token) => {
    const client = await SseClient.open(`${base}/analytics/live`, await token())
    expect(client.status).toBe(status)
    expect(JSON.parse(client.body)).toMatchObject({ statusCode: status, code })
  })

  it('an unknown type → 400 VALIDATION_FAILED naming the allowed ones', async () => {
    const client = await live('?type=session.created')
    expect(client.status).toBe(400)
    expect(JSON.parse(client.body).message).toContain('token.reuse_detected')
  })
})

describe('security events, live', () => {
  it('pushes failed logins, a lockout and a reuse detection within 2 s of the token service answering', async () => {
    const all = await live()
    const reuseOnly = await live('?type=token.reuse_detected')
    expect(all.status).toBe(200)
    expect(all.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(all.headers['cache-control']).toContain('no-store')

    for (let i = 0; i < 5; i++)
      await tokenPost('/auth/login', {
        identifier: user.identifier,
        password: 'wrong password!',
        device: { platform: 'web' },
      })
    await all.until(
      (c) => c.of('login.failed').length >= 5 && c.of('user.locked').length >= 1,
      2000,
      'failures',
    )
    const failed = all.of('login.failed').map((e) => JSON.parse(e.data))
    expect(failed.every((e) => e.userId === user.userId && e.type === 'login.failed')).toBe(true)
    expect(all.of('login.failed')[0]!.id).toMatch(/^\d+-\d+$/)

    const victim = await tokens.signIn()
    const rotate = async (refreshToken: string) =>
      (await (
        await tokenPost('/auth/refresh-token', { refreshToken, device: { id: 'd1', platform: 'web' } })
      ).json()) as {
        refreshToken: string
      }
    const second = await rotate(victim.refreshToken)
    await rotate(second.refreshToken)
    const replayedAt = Date.now()
    expect(
      (
        await tokenPost('/auth/refresh-token', {
          refreshToken: victim.refreshToken,
          device: { id: 'd1', platform: 'web' },
        })
      ).status,
    ).toBe(401)
    await reuseOnly.until((c) => c.of('token.reuse_detected').length === 1, 2000, 'the reuse detection')
    expect(Date.now() - replayedAt).toBeLessThan(2000)
    expect(JSON.parse(reuseOnly.of('token.reuse_detected')[0]!.data).userId).toBe(victim.userId)
    // The filtered stream got nothing else; neither stream got a non-security event (session.created, …).
    expect(reuseOnly.events.map((e) => e.event)).toEqual(['token.reuse_detected'])
    await all.until((c) => c.of('token.reuse_detected').length === 1, 2000, 'reuse on the full stream')
    expect(all.events.some((e) => e.event.startsWith('session.created'))).toBe(false)
  })

  it('sends heartbeats on an idle stream', async () => {
    const idle = await live('?type=risk.alert')
    await idle.until((c) => c.comments >= 3, 5000, 'two heartbeats after the greeting')
    expect(idle.events).toEqual([])
  })

  it('carries risk alerts from the alerts stream', async () => {
    const alerts = await live('?type=risk.alert')
    const raw = new Redis(REDIS_URL, { keyPrefix: env.REDIS_KEY_PREFIX })
    const { newRiskAlert } = await import('@africhain/events')
    const alert = newRiskAlert(user.userId, { score: 70, holderScore: 40, factors: [] })
    await raw.xadd(env.ALERTS_STREAM!, '*', ...encodeEvent(alert))
    raw.disconnect()
    await alerts.until((c) => c.of('risk.alert').length === 1, 2000, 'the alert')
    expect(JSON.parse(alerts.of('risk.alert')[0]!.data)).toMatchObject({ id: alert.id, data: { score: 70 } })
  })
})

describe('revocation and limits', () => {
  it('ends the stream within 2 s when the analyst is logged out at the token service', async () => {
    const analyst2 = await tokens.signIn(['security'])
    const stream = await live('', analyst2.accessToken)
    expect(stream.status).toBe(200)
    const revokedAt = Date.now()
    expect((await tokenPost('/auth/logout', undefined, analyst2.accessToken)).status).toBe(204)
    await stream.until((c) => c.ended, 2000, 'the end of the stream')
    expect(Date.now() - revokedAt).toBeLessThan(2000)
    expect(stream.of('end').map((e) => JSON.parse(e.data))).toEqual([{ reason: 'TOKEN_REVOKED' }])
  })

  it('ends every stream of an analyst an admin revokes, and keeps the others', async () => {
    const admin = await tokens.signIn(['admin'])
    const target = await tokens.signIn(['security'])
    const watched = await live('', target.accessToken)
    const bystander = await live('?type=risk.alert')
    const res = await tokenPost(
      `/auth/admin/users/${target.userId}/revoke-sessions`,
      undefined,
      admin.accessToken,
    )
    expect(res.status).toBe(200)
    await watched.until((c) => c.ended, 2000, 'the revoked stream to end')
    expect(bystander.ended).toBe(false)
    bystander.close()
  })

  it('shares one blocking Redis read per stream among all open streams, and caps how many may open', async () => {
    const second = await tokens.signIn(['security'])
    const streams = await Promise.all(
      [analyst, analyst, second, second].map((who) => live('', who.accessToken)),
    )
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200])
    const over = await live('', (await tokens.signIn(['security'])).accessToken)
    expect(over.status).toBe(429)
    expect(over.headers['retry-after']).toBe('5')
    expect(JSON.parse(over.body)).toMatchObject({ code: 'RATE_LIMITED' })
    const raw = new Redis(REDIS_URL)
    const clients = (await raw.client('LIST')) as string
    raw.disconnect()
    const named = (name: string) => clients.split('\n').filter((l) => l.includes(` name=${name} `)).length
    expect(named(`live:${env.EVENTS_STREAM}`)).toBe(1)
    expect(named(`live:${env.ALERTS_STREAM}`)).toBe(1)
    for (const s of streams) s.close()
  })

  // One analyst (a console reconnecting over a flaky network leaves half-open streams; a stolen token)
  // filled the whole process's LIVE_MAX_STREAMS and locked every other analyst out of the feed.
  it('caps the streams of one user at LIVE_MAX_STREAMS_PER_USER, leaving room for the others', async () => {
    const mine = await Promise.all([1, 2].map(() => live()))
    expect(mine.map((s) => s.status)).toEqual([200, 200])
    const third = await live()
    expect(third.status).toBe(429)
    expect(third.headers['retry-after']).toBe('5')
    expect(JSON.parse(third.body)).toMatchObject({ code: 'RATE_LIMITED' })
    expect(JSON.parse(third.body).message).toContain('LIVE_MAX_STREAMS_PER_USER')
    const colleague = await live('', (await tokens.signIn(['security'])).accessToken)
    expect(colleague.status).toBe(200)
    // A stream that ends gives its place back.
    mine[0]!.close()
    await eventually(async () => (await metric('analytics_live_streams')) === 2)
    expect((await live()).status).toBe(200)
  })

  it('drops (and counts) what a client too slow to read would have buffered, then tells it how many it missed', async () => {
    const { port } = new URL(base)
    const socket = connect(Number(port), '127.0.0.1')
    socket.write(
      `GET /analytics/live?type=login.failed HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${analyst.accessToken}\r\n\r\n`,
    )
    socket.pause()
    await eventually(async () => (await metric('analytics_live_streams')) === 1)
    const outcomes = async () =>
      (await metric('analytics_live_events_total', 'sent')) +
      (await metric('analytics_live_events_total', 'dropped'))
    const before = await outcomes()
    const raw = new Redis(REDIS_URL, { keyPrefix: env.REDIS_KEY_PREFIX })
    const ua = 'x'.repeat(500)
    const total = 40_000
    for (let i = 0; i < total; i += 1000) {
      const batch = raw.pipeline()
      for (let j = i; j < i + 1000; j++) {
        const e = { ...failedLogin(`stuffed-${j}`, Date.now()), userAgent: ua }
        batch.xadd(env.EVENTS_STREAM!, '*', ...encodeEvent(e))
      }
      await batch.exec()
    }
    raw.disconnect()
    await eventually(async () => (await outcomes()) - before >= total, 20_000)
    expect(await metric('analytics_live_events_total', 'dropped')).toBeGreaterThan(0)
    let text = ''
    socket.on('data', (d) => {
      text += d.toString()
    })
    socket.resume()
    try {
      await eventually(async () => /event: dropped\ndata: \{"count":\d+\}/.test(text), 20_000)
    } finally {
      socket.destroy()
    }
  })
})

async function metric(name: string, outcome?: string): Promise<number> {
  const text = (await app.inject('/metrics')).body
  const label = outcome ? `\\{outcome="${outcome}"\\}` : ''
  const m = new RegExp(`^${name}${label} (\\d+)`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}
