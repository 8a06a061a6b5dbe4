import { readGroupInfo, readStreamInfo } from '@africhain/bus'
import { encodeEvent, newRiskAlert } from '@africhain/events'
import { waitFor } from '@africhain/testing'
import type { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { authed, login, rawRedis, signIn, type TestApp, useTestApp } from './helpers/app.ts'

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

  // After Redis lost the stream or the group, the relay publishes the alert again (or the group created
  // again reads it back): it acted once, so the session the user opened since stays.
  it.each<[string, (redis: Redis, stream: string, fields: string[]) => Promise<unknown>]>([
    ['published again', (redis, stream, fields) => redis.xadd(stream, '*', ...fields)],
    [
      'published again after the stream was deleted',
      (redis, stream, fields) =>
        redis
          .multi()
          .del(stream)
          .xadd(stream, '*', ...fields)
          .exec(),
    ],
    [
      'read back after the group was destroyed',
      (redis, stream) => redis.xgroup('DESTROY', `${on.REDIS_KEY_PREFIX}${stream}`, 'token-service'),
    ],
  ])('an alert %s does not revoke again', async (_, again) => {
    const victim = await signIn(appOn)
    const alert = await publishAlert(on, victim.userId, 75, 60)
    await waitFor(
      async () => (await authed(appOn, 'GET', '/auth/me', victim.pair.accessToken)).statusCode === 401,
      'the first delivery revoked',
    )
    const since = await login(appOn, victim.identifier)
    const duplicates = await handled(appOn, 'duplicate')
    const redis = rawRedis(on)
    try {
      await again(redis, on.ALERTS_STREAM, encodeEvent(alert))
      // Everything the stream holds was read and handled (older alerts are read back too after a destroy).
      await waitFor(async () => {
        const [stream, group] = await Promise.all([
          readStreamInfo(redis, on.ALERTS_STREAM),
          readGroupInfo(redis, on.ALERTS_STREAM, 'token-service'),
        ])
        return group?.pending === 0 && group.lastDeliveredId === stream?.lastGeneratedId
      }, 'the group caught up')
    } finally {
      redis.disconnect()
    }
    expect(await handled(appOn, 'duplicate')).toBeGreaterThan(duplicates)
    expect((await authed(appOn, 'GET', '/auth/me', since.accessToken)).statusCode).toBe(200)
  })

  it('only counts alerts when RISK_AUTO_REVOKE_SCORE is unset (the default)', async () => {
    const user = await signIn(appOff)
    await publishAlert(off, user.userId, 100, 100)
    await alertsHandled(appOff, 'disabled', 1)
    expect((await authed(appOff, 'GET', '/auth/me', user.pair.accessToken)).statusCode).toBe(200)
  })
})
