import { readGroupInfo } from '@africhain/bus'
import { decodeAlert, type RiskAlert } from '@africhain/events'
import { waitFor } from '@africhain/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AnalyticsConfig, riskRulesOf } from '../../analytics/src/config.ts'
import { assessUser } from '../../analytics/src/domain/analytics.ts'
import { createAnalyticsStore } from '../../analytics/src/storage/analytics-store.ts'
import type { Worker } from '../../analytics/src/worker.ts'
import { testConfig as analyticsTestConfig } from '../../analytics/test/helpers/config.ts'
import { type TestDb, testDatabase } from '../../analytics/test/helpers/db.ts'
import { testWorker } from '../../analytics/test/helpers/worker.ts'
import { authed, login, type Pair, refresh, register, useTestApp } from './helpers/app.ts'

/**
 * The whole risk loop with both services' real code: the token service (RISK_AUTO_REVOKE_SCORE = 60)
 * publishes session events, an analytics worker scores them and publishes risk alerts, the token service
 * acts on them. Whatever a stranger does to an account, its holder stays logged in; what a holder of its
 * tokens does still logs every session out.
 */
const THRESHOLD = 60
const { app, config, redis } = useTestApp('risk_e2e', { env: { RISK_AUTO_REVOKE_SCORE: String(THRESHOLD) } })
let analytics: AnalyticsConfig
let analyticsDb: TestDb
let worker: Worker

beforeAll(async () => {
  analyticsDb = await testDatabase('risk_e2e_analytics')
  analytics = analyticsTestConfig({
    DATABASE_URL: analyticsDb.url,
    REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX!,
    EVENTS_STREAM: config.EVENTS_STREAM,
    ALERTS_STREAM: config.ALERTS_STREAM,
  })
  worker = testWorker(analytics, { redis, db: analyticsDb.db })
  await worker.start()
  // The token service creates its alert group in the background at start.
  await waitFor(() => readGroupInfo(redis, config.ALERTS_STREAM, 'token-service'), 'the alert group')
})
afterAll(async () => {
  await worker?.stop()
  await analyticsDb?.drop()
})

const analyticsReads = () => ({
  store: createAnalyticsStore(analyticsDb.db, config.EVENTS_STREAM),
  rules: riskRulesOf(analytics),
  now: () => new Date(),
})

const caughtUp = async (stream: string, group: string) => {
  const g = await readGroupInfo(redis, stream, group)
  return g !== null && g.lag === 0 && g.pending === 0
}

/**
 * Everything done so far has gone round the loop: the token outbox is on the stream, analytics stored it
 * all and published its alerts, the token service handled every alert (acknowledged after acting).
 */
async function settled(): Promise<void> {
  await waitFor(
    async () =>
      (await app.db.selectFrom('outbox').select('id').where('stream_key', 'is', null).limit(1).execute())
        .length === 0,
    'the token outbox relayed',
  )
  await waitFor(() => caughtUp(config.EVENTS_STREAM, 'analytics'), 'analytics caught up')
  await worker.alerts.flush()
  await waitFor(() => caughtUp(config.ALERTS_STREAM, 'token-service'), 'every alert handled')
}

async function alertsFor(userId: string): Promise<RiskAlert[]> {
  return (await redis.xrange(config.ALERTS_STREAM, '-', '+')).flatMap(([, fields]) => {
    const d = decodeAlert(fields)
    return d.ok && d.event.userId === userId ? [d.event] : []
  })
}

type Victim = { userId: string; identifier: string; sessions: Pair[]; devices: Record<string, unknown>[] }

/** Registers a user and opens one session per IP, each on its own device. */
async function victim(ips: string[]): Promise<Victim> {
  const user = await register(app)
  const devices = ips.map((_, i) => ({ id: `own-device-${i}`, platform: 'android' }))
  const sessions: Pair[] = []
  for (const [i, ip] of ips.entries())
    sessions.push(await login(app, user.identifier, { ip, device: devices[i]! }))
  return { userId: user.userId, identifier: user.identifier, sessions, devices }
}

/** Wrong passwords for the victim's identifier, one request after another (a burst), rotating IPs and device ids. */
async function attack(v: Victim, n: number, ips: string[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/auth/login',
      remoteAddress: ips[i % ips.length]!,
      payload: {
        identifier: v.identifier,
        password: 'not the password',
        device: { id: `attacker-${i % ips.length}`, platform: 'web' },
      },
    })
    // Five failures lock the account; the attacker keeps going against the lock.
    expect([401, 429]).toContain(res.statusCode)
  }
}

/** Refreshes session `k` twice, then replays its first refresh token: TOKEN_REUSED (not the previous one). */
async function replay(v: Victim, k: number): Promise<void> {
  const device = v.devices[k]!
  const first = v.sessions[k]!.refreshToken
  let token = first
  for (let i = 0; i < 2; i++) {
    const res = await refresh(app, token, device)
    expect(res.statusCode).toBe(200)
    token = res.json().refreshToken
  }
  expect((await refresh(app, first, device)).json().code).toBe('TOKEN_REUSED')
}

async function sessionState(v: Victim, k: number): Promise<string | null> {
  const me = await authed(app, 'GET', '/auth/me', v.sessions[k]!.accessToken)
  if (me.statusCode === 200) return 'alive'
  const row = await app.db
    .selectFrom('sessions')
    .select('revoked_reason')
    .where('id', '=', v.sessions[k]!.sessionId)
    .executeTakeFirstOrThrow()
  return `${me.json().code} (${row.revoked_reason})`
}

const ATTACKER_IPS = ['41.90.7.1', '102.89.3.2', '197.210.5.3']

type Case = {
  name: string
  ips: string[]
  act: (v: Victim) => Promise<void>
  /** The session checked at the end (another one may have ended by its own reuse detection). */
  watch: number
  revoked: boolean
}

const cases: Case[] = [
  {
    name: 'failed logins from 3 IPs with 3 device ids, in a burst',
    ips: ['196.201.214.10'],
    act: (v) => attack(v, 12, ATTACKER_IPS),
    watch: 0,
    revoked: false,
  },
  {
    name: "the victim's own 2 IPs and devices, completed by one attacker IP and device",
    ips: ['196.201.214.10', '41.80.1.1'],
    act: (v) => attack(v, 12, ATTACKER_IPS.slice(0, 1)),
    watch: 1,
    revoked: false,
  },
  {
    name: "a burst of the victim's own refreshes (holder points below the threshold) and the attack",
    ips: ['196.201.214.10'],
    act: async (v) => {
      let token = v.sessions[0]!.refreshToken
      for (let i = 0; i < 11; i++) token = (await refresh(app, token, v.devices[0])).json().refreshToken
      v.sessions[0] = { ...v.sessions[0]!, refreshToken: token }
      await attack(v, 12, ATTACKER_IPS)
    },
    watch: 0,
    revoked: false,
  },
  {
    name: "token reuse and its revocation on the holder's own 3 IPs and devices",
    ips: ['196.201.214.10', '41.80.1.1', '105.160.2.2'],
    act: (v) => replay(v, 0),
    watch: 1,
    revoked: true,
  },
  {
    name: "logout-all elsewhere (a revocation) on the holder's own 3 IPs and devices",
    ips: ['196.201.214.10', '41.80.1.1', '105.160.2.2'],
    act: async (v) => {
      const res = await authed(app, 'POST', '/auth/logout-all', v.sessions[2]!.accessToken, {
        keepCurrent: true,
      })
      expect(res.json()).toEqual({ revoked: 2 })
    },
    watch: 2,
    revoked: true,
  },
]

describe(`risk loop end to end (RISK_AUTO_REVOKE_SCORE=${THRESHOLD})`, () => {
  it.each(cases)('$name', async ({ ips, act, watch, revoked }) => {
    const v = await victim(ips)
    await act(v)
    await settled()

    const alerts = await alertsFor(v.userId)
    expect(alerts.length).toBeGreaterThan(0)
    const assessment = await assessUser(analyticsReads(), v.userId)
    expect(assessment.suspicious).toBe(true)
    expect(assessment.riskScore).toBeGreaterThan(50)
    const holder = Math.max(...alerts.map((a) => a.data.holderScore))
    if (revoked) {
      expect(await sessionState(v, watch)).toBe('TOKEN_REVOKED (risk)')
      expect(holder).toBeGreaterThanOrEqual(THRESHOLD)
    } else {
      // Analysts see the attack; the token service does not act on it.
      expect(await sessionState(v, watch)).toBe('alive')
      for (const a of alerts) expect(a.data.score).toBeGreaterThan(50)
      expect(holder).toBeLessThan(THRESHOLD)
      expect(assessment.holderScore).toBeLessThan(THRESHOLD)
    }
  })

  it('an attack first (sessions kept), then a token reuse while still suspicious: a second alert revokes', async () => {
    const v = await victim(['196.201.214.10', '196.201.214.10'])
    await attack(v, 12, ATTACKER_IPS)
    await settled()
    expect(await sessionState(v, 1)).toBe('alive')
    const [first, ...none] = await alertsFor(v.userId)
    expect(none).toEqual([])
    expect(first!.data.score).toBeGreaterThan(50)
    expect(first!.data.holderScore).toBeLessThan(THRESHOLD)

    // The reuse detection and its revocation may reach analytics in one batch or two: one more alert or two.
    await replay(v, 0)
    await settled()
    const [again, ...later] = await alertsFor(v.userId)
    expect(again).toEqual(first)
    expect(later.length).toBeGreaterThan(0)
    expect(Math.max(...later.map((a) => a.data.holderScore))).toBeGreaterThanOrEqual(THRESHOLD)
    expect(await sessionState(v, 1)).toBe('TOKEN_REVOKED (risk)')
  })
})
