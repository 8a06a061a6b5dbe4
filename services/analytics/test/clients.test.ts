import type { SessionEvent } from '@africhain/events'
import { sql } from 'kysely'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_RISK_RULES } from '../src/domain/risk-rules.ts'
import { eventsQuery } from '../src/storage/event.repository.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import { useTestApp } from './helpers/app.ts'
import { failedLogin, login, refresh, registered, type Who } from './helpers/events.ts'

// Events by client (`?ip=`), the per-client summary, and USER_NOT_FOUND for a security caller.
const { app, db, issuer } = useTestApp('clients')
const NOW = Date.now()
const STUFFER = '203.0.113.9'

const victim = (n: number): Who => ({ userId: `victim-${n}`, sessionId: `v-s${n}`, ip: STUFFER })
// 30 accounts tried from one address, two of them broken into; an unknown identifier tried too.
const stuffing: SessionEvent[] = [
  ...Array.from({ length: 30 }, (_, n) => failedLogin(`victim-${n}`, NOW - 600_000 + n * 1000, STUFFER)),
  failedLogin(`victim-3`, NOW - 500_000, STUFFER),
  failedLogin(undefined, NOW - 499_000, STUFFER),
  login(victim(3), NOW - 400_000),
  login(victim(7), NOW - 300_000),
]
const v6 = (ip: string, n: number): Who => ({ userId: 'amina', sessionId: `amina-s${n}`, ip })
const amina: SessionEvent[] = [
  registered('amina', NOW - 7200_000),
  login(v6('2001:db8:1:2::5', 1), NOW - 3600_000),
  refresh(v6('2001:db8:1:2:ffff::9', 1), NOW - 3000_000),
  login(v6('2001:db8:1:3::1', 2), NOW - 2400_000),
  login({ userId: 'amina', sessionId: 'amina-s3', ip: '::ffff:203.0.113.9' }, NOW - 200_000),
]

type Caller = 'anonymous' | 'user' | 'security' | 'admin' | 'revoked'
const tokens = {} as Record<Exclude<Caller, 'anonymous'>, string>

async function get(url: string, as: Caller) {
  const auth = as === 'anonymous' ? undefined : tokens[as]
  return app.inject({ method: 'GET', url, headers: auth ? { authorization: `Bearer ${auth}` } : {} })
}

beforeAll(async () => {
  await ingestBatch(db, [...stuffing, ...amina], { rules: DEFAULT_RISK_RULES })
  tokens.user = await issuer.mint('amina')
  tokens.security = await issuer.mint('sec-1', ['user', 'security'])
  tokens.admin = await issuer.mint('adm-1', ['admin'])
  tokens.revoked = await issuer.mint('sec-2', ['security'], { sessionState: 'r' })
})

describe('who may ask by client', () => {
  const cases: [Caller, number, string | null][] = [
    ['anonymous', 401, 'TOKEN_MISSING'],
    ['revoked', 401, 'TOKEN_REVOKED'],
    ['user', 403, 'FORBIDDEN'],
    ['security', 200, null],
    ['admin', 200, null],
  ]
  for (const url of [`/analytics/events?ip=${STUFFER}`, `/analytics/ips/${STUFFER}`])
    it.each(cases)(`${url} as %s → %i %s`, async (as, status, code) => {
      const res = await get(url, as)
      expect(res.statusCode).toBe(status)
      if (code) expect(res.json().code).toBe(code)
    })
})

describe('USER_NOT_FOUND', () => {
  const routes = ['/analytics/user', '/analytics/events', '/analytics/security']
  // [caller, userId asked about, status, code]: a stranger learns nothing about whether a user exists.
  const cases: [Caller, string, number, string | null][] = [
    ['security', 'ghost', 404, 'USER_NOT_FOUND'],
    ['admin', 'ghost', 404, 'USER_NOT_FOUND'],
    ['security', 'victim-3', 200, null],
    ['security', 'sec-1', 200, null],
    ['user', 'ghost', 403, 'FORBIDDEN'],
    ['user', 'victim-3', 403, 'FORBIDDEN'],
    ['user', 'amina', 200, null],
    ['revoked', 'ghost', 401, 'TOKEN_REVOKED'],
  ]
  for (const route of routes)
    it.each(cases)(`${route} as %s about %s → %i %s`, async (as, userId, status, code) => {
      const res = await get(`${route}?userId=${userId}`, as)
      expect(res.statusCode).toBe(status)
      if (code) expect(res.json()).toMatchObject({ statusCode: status, code })
    })

  it('a user known only from a failed login exists (login.failed carries the userId of a real account)', async () => {
    const res = await get('/analytics/security?userId=victim-29', 'security')
    expect(res.statusCode).toBe(200)
    expect(res.json().userId).toBe('victim-29')
  })
})

async function allPages(url: string, limit: number): Promise<SessionEvent[]> {
  const out: SessionEvent[] = []
  let cursor: string | null = null
  do {
    const res = await get(`${url}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, 'security')
    expect(res.statusCode).toBe(200)
    const page = res.json() as { events: SessionEvent[]; nextCursor: string | null }
    expect(page.events.length).toBeLessThanOrEqual(limit)
    out.push(...page.events)
    cursor = page.nextCursor
  } while (cursor)
  return out
}

describe('GET /analytics/events?ip=', () => {
  it('pages through every event of every user from one IPv4 client, newest first (an IPv4-mapped address is that address)', async () => {
    const events = await allPages(`/analytics/events?ip=${STUFFER}`, 7)
    const expected = [...stuffing, amina[4]!].sort((a, b) => b.occurredAt.localeCompare(a.occurredAt))
    expect(events.map((e) => e.id)).toEqual(expected.map((e) => e.id))
  })

  it('takes an IPv6 client by its /64, whichever address of it is asked for', async () => {
    for (const ip of ['2001:db8:1:2::5', '2001:db8:1:2:abcd::1']) {
      const events = await allPages(`/analytics/events?ip=${encodeURIComponent(ip)}`, 50)
      expect(events.map((e) => e.id)).toEqual([amina[2]!.id, amina[1]!.id])
    }
  })

  it('filters by type, and by user and client at once', async () => {
    const created = await allPages(`/analytics/events?ip=${STUFFER}&type=session.created`, 50)
    expect(created.map((e) => e.userId)).toEqual(['amina', 'victim-7', 'victim-3'])
    const one = await allPages(`/analytics/events?ip=${STUFFER}&userId=victim-3`, 50)
    expect(one.map((e) => e.type)).toEqual(['session.created', 'login.failed', 'login.failed'])
  })

  it.each(['not-an-ip', '999.1.1.1', '1.2.3', '2001:db8::g'])('ip=%s → 400 VALIDATION_FAILED', async (ip) => {
    const res = await get(`/analytics/events?ip=${encodeURIComponent(ip)}`, 'security')
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' })
    expect(res.json().message).toContain('querystring/ip')
  })

  // A selective filter (on a table this small, the stuffer's 34 of 39 rows are cheaper to scan).
  it.each([
    ['client', { ip: '2001:db8:1:2::5' }, 'analytics_events_client_time'],
    ['user', { userId: 'amina' }, 'analytics_events_user_time'],
  ])('reads by %s from its index, not a scan', async (_, filter, index) => {
    const plan = await eventsQuery(db, { ...filter, limit: 50 }).explain()
    expect(plan[0]).toMatchObject({ key: index })
    expect(plan[0]?.type).not.toBe('ALL')
  })
})

describe('GET /analytics/ips/:ip', () => {
  it('shows a credential-stuffing run: many accounts, many failures, few successes', async () => {
    const res = await get(`/analytics/ips/${STUFFER}?limit=5`, 'security')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({
      ip: STUFFER,
      label: 'documentation',
      accounts: 31,
      logins: 3,
      failedLogins: 32,
      firstSeen: new Date(NOW - 600_000).toISOString(),
      lastSeen: new Date(NOW - 200_000).toISOString(),
    })
    expect(body.users).toHaveLength(5)
    expect(body.users[0]).toEqual({ userId: 'victim-3', failed: 2, succeeded: 1 })
    expect(body.users[1]).toEqual({ userId: 'victim-7', failed: 1, succeeded: 1 })
  })

  it('names an IPv6 client by its /64, and a client never seen has zeros', async () => {
    const v6res = await get(`/analytics/ips/${encodeURIComponent('2001:db8:1:2::77')}`, 'security')
    expect(v6res.json()).toMatchObject({ ip: '2001:db8:1:2::/64', accounts: 1, logins: 1, failedLogins: 0 })
    expect(v6res.json().users).toEqual([{ userId: 'amina', failed: 0, succeeded: 1 }])
    const none = await get('/analytics/ips/41.90.200.1', 'security')
    expect(none.json()).toEqual({
      ip: '41.90.200.1',
      accounts: 0,
      logins: 0,
      failedLogins: 0,
      firstSeen: null,
      lastSeen: null,
      users: [],
    })
  })

  // Every spelling of one client is that client: the same summary, named the same way.
  it.each([
    ['IPv4-mapped', '::ffff:203.0.113.9', STUFFER, 31],
    ['IPv4-mapped in hex', '::ffff:cb00:7109', STUFFER, 31],
    ['IPv4-mapped, expanded and upper case', '0:0:0:0:0:FFFF:203.0.113.9', STUFFER, 31],
    ['IPv6 upper case', '2001:DB8:1:2::5', '2001:db8:1:2::/64', 1],
    ['IPv6 fully written', '2001:0db8:0001:0002:0000:0000:0000:0005', '2001:db8:1:2::/64', 1],
    ['IPv6 with a zone id', '2001:db8:1:2::5%eth0', '2001:db8:1:2::/64', 1],
    ['IPv6 other /64 of the same /48', '2001:db8:1:3::99', '2001:db8:1:3::/64', 1],
  ])('%s (%s) is client %s', async (_, ip, named, accounts) => {
    const res = await get(`/analytics/ips/${encodeURIComponent(ip)}`, 'security')
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ ip: named, accounts })
    const events = await get(`/analytics/events?limit=500&ip=${encodeURIComponent(ip)}`, 'security')
    expect(events.statusCode).toBe(200)
    expect(events.json().events.length).toBeGreaterThan(0)
  })

  it.each([
    ['64 characters of an address that is not one', `1.2.3.4${'0'.repeat(57)}`],
    ['an IPv6 with two ::', '2001::db8::1'],
    ['an IPv4 with a leading zero', '203.0.113.09'],
    ['an IPv4 /prefix', '203.0.113.0/24'],
    ['a zone id alone', '%eth0'],
  ])('%s → 400 VALIDATION_FAILED, never a 500', async (_, ip) => {
    for (const url of [
      `/analytics/ips/${encodeURIComponent(ip)}`,
      `/analytics/events?ip=${encodeURIComponent(ip)}`,
    ]) {
      const res = await get(url, 'security')
      expect(res.statusCode, url).toBe(400)
      expect(res.json().code, url).toBe('VALIDATION_FAILED')
    }
  })

  it.each(['not-an-ip', '300.1.1.1', '::g'])('%s → 400 VALIDATION_FAILED naming params/ip', async (ip) => {
    const res = await get(`/analytics/ips/${encodeURIComponent(ip)}`, 'security')
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' })
    expect(res.json().message).toContain('params/ip')
  })

  it('its summary reads the client index alone', async () => {
    const plan = await sql<{ key: string; Extra: string }>`explain select count(*) from analytics_events
      where client_net = unhex('cb007109')`.execute(db)
    expect(plan.rows[0]).toMatchObject({ key: 'analytics_events_client_time' })
  })
})
