import { dedupeWindowMs } from '@africhain/bus'
import { encodeEvent, newRiskAlert } from '@africhain/events'
import { LogLines, waitFor } from '@africhain/testing'
import { describe, expect, it } from 'vitest'
import { ALERT_CLOCK_TOLERANCE_MS } from '../src/events/risk-alerts.ts'
import { authed, rawRedis, signIn, type TestApp, useTestApp } from './helpers/app.ts'

// The token service consumes analytics' risk alerts in its own group; auto-revocation is opt-in.
const logs = new LogLines()
const { app: appOn, config: on } = useTestApp('risk_on', {
  env: { RISK_AUTO_REVOKE_SCORE: '60', LOG_LEVEL: 'info' },
  build: { logStream: logs },
})
const { app: appOff, config: off } = useTestApp('risk_off')

async function handled(app: TestApp, outcome: string): Promise<number> {
  const text = (await app.inject('/metrics')).body
  const m = new RegExp(`token_risk_alerts_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)
  return m ? Number(m[1]) : 0
}

async function alertsHandled(app: TestApp, outcome: string, count: number) {
  await waitFor(async () => (await handled(app, outcome)) >= count, `${count} alert(s) handled as ${outcome}`)
}

/** An alert as analytics publishes it; `holderScore: undefined` builds one from a worker older than the field. */
async function publishAlert(
  config: typeof on,
  userId: string,
  score: number,
  holderScore: number | undefined,
  agoMs = 0,
  occurredAt?: string,
) {
  const redis = rawRedis(config)
  try {
    await waitFor(
      async () =>
        // XINFO's key is not prefixed by ioredis (subcommand first): name it in full.
        (
          (await redis
            .xinfo('GROUPS', `${config.REDIS_KEY_PREFIX}${config.ALERTS_STREAM}`)
            .catch(() => [])) as unknown[]
        ).length > 0,
      'the group',
    )
    const factors = [{ code: 'TOKEN_REUSE', points: 40, detail: {} }]
    const alert = newRiskAlert(
      userId,
      { score, holderScore: holderScore ?? 0, factors },
      new Date(Date.now() - agoMs),
    )
    if (holderScore === undefined) delete (alert.data as Partial<typeof alert.data>).holderScore
    if (occurredAt !== undefined) alert.occurredAt = occurredAt
    await redis.xadd(config.ALERTS_STREAM, '*', ...encodeEvent(alert))
    return alert
  } finally {
    redis.disconnect()
  }
}

type Case = {
  name: string
  /** The user's one session is logged out before the alert. */
  loggedOut?: boolean
  score: number
  holderScore: number | undefined
  /** How long before now the alert occurred, if not now. */
  agoMs?: number
  /** The alert's `occurredAt` as sent, when it is not a time at all. */
  occurredAt?: string
  outcome: string
  revoked: boolean
  /** The line the consumer logs, and its level (30 info, 40 warn). */
  log?: { msg: string; level: number }
}

const windowMs = dedupeWindowMs(on.OUTBOX_RETENTION * 1000)
const CASES: Case[] = [
  {
    name: 'revokes every session of the user when the holder score reaches RISK_AUTO_REVOKE_SCORE',
    score: 75,
    holderScore: 60,
    outcome: 'revoked',
    revoked: true,
    log: { msg: 'risk alert: revoked all sessions', level: 40 },
  },
  {
    name: 'revokes on an alert that occurred just inside the dedupe window',
    score: 75,
    holderScore: 60,
    agoMs: windowMs - 60_000,
    outcome: 'revoked',
    revoked: true,
  },
  {
    name: 'an alert for a user without a live session revokes nothing: no_sessions',
    loggedOut: true,
    score: 75,
    holderScore: 60,
    outcome: 'no_sessions',
    revoked: false,
    log: { msg: 'risk alert: the user has no live session', level: 30 },
  },
  {
    name: 'an alert older than the dedupe window (its record may be pruned) never revokes: stale',
    score: 75,
    holderScore: 60,
    agoMs: windowMs + 60_000,
    outcome: 'stale',
    revoked: false,
    log: { msg: 'risk alert older than the dedupe window: sessions kept', level: 40 },
  },
  {
    name: 'revokes on an alert stamped a little ahead of this clock (inside the tolerance)',
    score: 75,
    holderScore: 60,
    agoMs: -(ALERT_CLOCK_TOLERANCE_MS - 60_000),
    outcome: 'revoked',
    revoked: true,
  },
  {
    name: 'an alert stamped beyond the clock tolerance (it could outlive its record) never revokes: future',
    score: 75,
    holderScore: 60,
    agoMs: -(ALERT_CLOCK_TOLERANCE_MS + 60_000),
    outcome: 'future',
    revoked: false,
    log: { msg: 'risk alert stamped later than the clock tolerance allows: sessions kept', level: 40 },
  },
  {
    name: 'an alert whose time cannot be read counts as before the window: stale, never revokes',
    score: 75,
    holderScore: 60,
    occurredAt: 'not a time',
    outcome: 'stale',
    revoked: false,
  },
  {
    name: 'leaves sessions alone below the threshold',
    score: 55,
    holderScore: 55,
    outcome: 'below_threshold',
    revoked: false,
  },
  {
    name: 'never revokes on the full score: a high score with a low holder score is stranger_only',
    score: 100,
    holderScore: 59,
    outcome: 'stranger_only',
    revoked: false,
  },
  {
    name: 'never revokes on an alert from an older worker (no holderScore: read as 0)',
    score: 100,
    holderScore: undefined,
    outcome: 'stranger_only',
    revoked: false,
  },
]

describe('risk alerts → automatic revocation', () => {
  it.each(CASES)('$name', async (c) => {
    const user = await signIn(appOn)
    if (c.loggedOut) await authed(appOn, 'POST', '/auth/logout', user.pair.accessToken)
    const before = await handled(appOn, c.outcome)
    const alert = await publishAlert(on, user.userId, c.score, c.holderScore, c.agoMs, c.occurredAt)
    await alertsHandled(appOn, c.outcome, before + 1)
    const row = await appOn.db
      .selectFrom('sessions')
      .select('revoked_reason')
      .where('id', '=', user.pair.sessionId)
      .executeTakeFirstOrThrow()
    expect(row.revoked_reason).toBe(c.revoked ? 'risk' : c.loggedOut ? 'logout' : null)
    if (!c.loggedOut) {
      const me = await authed(appOn, 'GET', '/auth/me', user.pair.accessToken)
      expect(me.statusCode).toBe(c.revoked ? 401 : 200)
    }
    if (c.log) {
      const lines = logs.all.map((l) => JSON.parse(l) as { msg: string; level: number; userId?: string })
      expect(lines.filter((l) => l.userId === alert.userId && l.msg === c.log!.msg)).toEqual([
        expect.objectContaining({ level: c.log.level }),
      ])
    }
  })

  it('only counts alerts when RISK_AUTO_REVOKE_SCORE is unset (the default)', async () => {
    const user = await signIn(appOff)
    await publishAlert(off, user.userId, 100, 100)
    await alertsHandled(appOff, 'disabled', 1)
    expect((await authed(appOff, 'GET', '/auth/me', user.pair.accessToken)).statusCode).toBe(200)
  })
})
