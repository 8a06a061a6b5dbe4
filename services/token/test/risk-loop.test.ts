import { encodeEvent, newRiskAlert } from '@africhain/events'
import { waitFor } from '@africhain/testing'
import { describe, expect, it } from 'vitest'
import { authed, rawRedis, signIn, type TestApp, useTestApp } from './helpers/app.ts'

// The token service consumes analytics' risk alerts in its own group; auto-revocation is opt-in.
const { app: appOn, config: on } = useTestApp('risk_on', { env: { RISK_AUTO_REVOKE_SCORE: '60' } })
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
    const alert = newRiskAlert(userId, { score, holderScore: holderScore ?? 0, factors })
    if (holderScore === undefined) delete (alert.data as Partial<typeof alert.data>).holderScore
    await redis.xadd(config.ALERTS_STREAM, '*', ...encodeEvent(alert))
    return alert
  } finally {
    redis.disconnect()
  }
}

describe('risk alerts → automatic revocation', () => {
  it('revokes every session of the user when the holder score reaches RISK_AUTO_REVOKE_SCORE', async () => {
    const victim = await signIn(appOn)
    await publishAlert(on, victim.userId, 75, 60)
    await alertsHandled(appOn, 'revoked', 1)
    const me = await authed(appOn, 'GET', '/auth/me', victim.pair.accessToken)
    expect(me.json().code).toBe('TOKEN_REVOKED')
    const row = await appOn.db
      .selectFrom('sessions')
      .select('revoked_reason')
      .where('id', '=', victim.pair.sessionId)
      .executeTakeFirst()
    expect(row?.revoked_reason).toBe('risk')
  })

  it('leaves sessions alone below the threshold', async () => {
    const user = await signIn(appOn)
    await publishAlert(on, user.userId, 55, 55)
    await alertsHandled(appOn, 'below_threshold', 1)
    expect((await authed(appOn, 'GET', '/auth/me', user.pair.accessToken)).statusCode).toBe(200)
  })

  it('never revokes on the full score: a high score with a low holder score is stranger_only', async () => {
    const user = await signIn(appOn)
    await publishAlert(on, user.userId, 100, 59)
    await alertsHandled(appOn, 'stranger_only', 1)
    expect((await authed(appOn, 'GET', '/auth/me', user.pair.accessToken)).statusCode).toBe(200)
  })

  it('never revokes on an alert from an older worker (no holderScore: read as 0)', async () => {
    const user = await signIn(appOn)
    await publishAlert(on, user.userId, 100, undefined)
    await alertsHandled(appOn, 'stranger_only', 2)
    expect((await authed(appOn, 'GET', '/auth/me', user.pair.accessToken)).statusCode).toBe(200)
  })

  it('only counts alerts when RISK_AUTO_REVOKE_SCORE is unset (the default)', async () => {
    const user = await signIn(appOff)
    await publishAlert(off, user.userId, 100, 100)
    await alertsHandled(appOff, 'disabled', 1)
    expect((await authed(appOff, 'GET', '/auth/me', user.pair.accessToken)).statusCode).toBe(200)
  })
})
