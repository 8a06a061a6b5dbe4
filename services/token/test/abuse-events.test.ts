import { decodeEvent, type SessionEvent, type SessionEventOf } from '@africhain/events'
import { LogLines, waitFor } from '@africhain/testing'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { useTestApp } from './helpers/app.ts'

// docs/api.md: `abuse.rate_limited` — "one per limited client and route per window", so a credential-stuffing
// burst leaves a trace for analysts however long it goes on; and recording it never changes the 429.

const log = new LogLines()
const { app, config, redis } = useTestApp('abuse', {
  env: {
    RATE_LIMIT_LOGIN: '2/1m',
    RATE_LIMIT_REFRESH: '2/1m',
    RATE_LIMIT_INTROSPECT: '2/1m',
    RATE_LIMIT_REGISTER: '2/1m',
    LOG_LEVEL: 'warn',
  },
  build: { logStream: log },
})

type Limited = SessionEventOf<'abuse.rate_limited'>

async function limitedEvents(): Promise<Limited[]> {
  const entries = await redis.xrange(config.EVENTS_STREAM, '-', '+')
  return entries
    .map(([, fields]) => decodeEvent(fields))
    .filter((d): d is { ok: true; event: SessionEvent } => d.ok)
    .map((d) => d.event)
    .filter((e): e is Limited => e.type === 'abuse.rate_limited')
}

const outboxEmpty = async () =>
  Number(
    (await sql<{ n: number }>`select count(*) as n from outbox where stream_key is null`.execute(app.db))
      .rows[0]?.n,
  ) === 0

const requests = {
  '/auth/login': {
    identifier: 'nobody@example.com',
    password: 'wrong password',
    device: { platform: 'web' },
  },
  '/auth/register': { identifier: 'x', password: 'short' },
  '/auth/refresh-token': { refreshToken: `rt_${'x'.repeat(43)}` },
  '/auth/introspect': { token: 'x' },
} as const

const hit = (route: keyof typeof requests, ip: string) =>
  app.inject({ method: 'POST', url: route, remoteAddress: ip, payload: requests[route] })

describe('abuse.rate_limited', () => {
  it('records one event for 30 requests over the login limit, and one for another client', async () => {
    const codes = []
    for (let i = 0; i < 32; i++) codes.push((await hit('/auth/login', '203.0.113.5')).json().code)
    expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(30)
    for (let i = 0; i < 5; i++) await hit('/auth/login', '2001:db8:77:1::1')

    const events = await waitFor(async () => {
      const all = (await limitedEvents()).filter((e) => e.data.route === '/auth/login')
      return all.length >= 2 && (await outboxEmpty()) ? all : undefined
    }, 'both clients recorded')
    expect(events.map((e) => e.data.client).sort()).toEqual(['2001:db8:77:1::/64', '203.0.113.5'])
    const first = events.find((e) => e.data.client === '203.0.113.5')!
    expect(first).toMatchObject({
      type: 'abuse.rate_limited',
      version: 1,
      ip: '203.0.113.5',
      data: { route: '/auth/login', client: '203.0.113.5', limit: 2, windowSeconds: 60 },
    })
    expect(first.userId).toBeUndefined()
    // More limited requests in the same window add nothing.
    for (let i = 0; i < 5; i++) await hit('/auth/login', '203.0.113.5')
    await waitFor(outboxEmpty, 'outbox drained')
    expect((await limitedEvents()).filter((e) => e.data.route === '/auth/login')).toHaveLength(2)
  })

  it.each(['/auth/register', '/auth/refresh-token', '/auth/introspect'] as const)(
    'records %s separately from other routes for the same client',
    async (route) => {
      for (let i = 0; i < 10; i++) await hit(route, '203.0.113.5')
      const events = await waitFor(async () => {
        const all = (await limitedEvents()).filter((e) => e.data.route === route)
        return all.length > 0 && (await outboxEmpty()) ? all : undefined
      }, `${route} recorded`)
      expect(events).toHaveLength(1)
      expect(events[0]!.data).toEqual({ route, client: '203.0.113.5', limit: 2, windowSeconds: 60 })
    },
  )

  it('still answers 429 RATE_LIMITED when the event cannot be written', async () => {
    await sql`rename table outbox to outbox_away`.execute(app.db)
    try {
      const codes = []
      for (let i = 0; i < 4; i++) {
        // Refresh of an unknown token writes no event of its own: only the rate-limit event needs the outbox.
        codes.push((await hit('/auth/refresh-token', '198.51.100.99')).json().code)
      }
      expect(codes).toEqual(['TOKEN_INVALID', 'TOKEN_INVALID', 'RATE_LIMITED', 'RATE_LIMITED'])
      await log.seen((l) => l.includes('rate-limited event not recorded'), 'the warning')
    } finally {
      await sql`rename table outbox_away to outbox`.execute(app.db)
    }
    // The failed write freed the window: the client's next 429 records the event after all.
    expect((await hit('/auth/refresh-token', '198.51.100.99')).json().code).toBe('RATE_LIMITED')
    const events = await waitFor(async () => {
      const all = (await limitedEvents()).filter((e) => e.data.client === '198.51.100.99')
      return all.length > 0 ? all : undefined
    }, 'the event once the outbox is back')
    expect(events).toHaveLength(1)
  })
})
