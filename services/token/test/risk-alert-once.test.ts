import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readGroupInfo, readStreamInfo } from '@africhain/bus'
import { encodeEvent, newRiskAlert, type RiskAlert } from '@africhain/events'
import { OwnRedis, waitFor } from '@africhain/testing'
import type { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import type { TokenConfig } from '../src/config.ts'
import { RISK_ALERT_GROUP } from '../src/events/risk-alerts.ts'
import {
  authed,
  cleanup,
  login,
  rawRedis,
  signIn,
  startApp,
  type TestApp,
  testConfig,
  useTestApp,
} from './helpers/app.ts'

// Every revoking risk alert revokes exactly once, whatever Redis loses: what it applied is recorded in the
// token database with the revocation, and the group that existed is too (events/risk-alerts.ts).
const env = { RISK_AUTO_REVOKE_SCORE: '60' }
const {
  apps: [a, b],
  config,
} = useTestApp('risk_once', { env, instances: 2 })

const ctx = { ip: '', userAgent: null }
const fullKey = (c: TokenConfig) => `${c.REDIS_KEY_PREFIX}${c.ALERTS_STREAM}`

async function handled(apps: TestApp[], outcome: string): Promise<number> {
  let n = 0
  for (const app of apps) {
    const m = new RegExp(`token_risk_alerts_total\\{outcome="${outcome}"\\} (\\d+)`).exec(
      (await app.inject('/metrics')).body,
    )
    n += m ? Number(m[1]) : 0
  }
  return n
}

const revoking = (userId: string) =>
  newRiskAlert(userId, {
    score: 75,
    holderScore: 60,
    factors: [{ code: 'TOKEN_REUSE', points: 40, detail: {} }],
  })

async function groupExists(redis: Redis, c: TokenConfig): Promise<boolean> {
  return (await readGroupInfo(redis, c.ALERTS_STREAM, RISK_ALERT_GROUP).catch(() => null)) !== null
}

/** The group has read and acknowledged everything the stream holds. */
async function caughtUp(redis: Redis, c: TokenConfig): Promise<boolean> {
  const [stream, group] = await Promise.all([
    readStreamInfo(redis, c.ALERTS_STREAM),
    readGroupInfo(redis, c.ALERTS_STREAM, RISK_ALERT_GROUP),
  ])
  return group?.pending === 0 && group.lastDeliveredId === stream?.lastGeneratedId
}

const meStatus = async (app: TestApp, token: string) =>
  (await authed(app, 'GET', '/auth/me', token)).statusCode

/** Deletes every key of the deployment's prefix: FLUSHALL, as far as this deployment can tell. */
async function flushDeployment(redis: Redis, c: TokenConfig) {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${c.REDIS_KEY_PREFIX}*`, 'COUNT', 1000)
    cursor = next
    const prefix = c.REDIS_KEY_PREFIX ?? ''
    if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length)))
  } while (cursor !== '0')
}

type Loss = (redis: Redis, alert: RiskAlert) => Promise<unknown>

describe('an alert that found no live session', () => {
  it('is recorded too: read again after the user signed in, it is a duplicate and spares the new session', async () => {
    const redis = rawRedis(config)
    try {
      await waitFor(() => groupExists(redis, config), 'the group')
      const victim = await signIn(a)
      await authed(a, 'POST', '/auth/logout', victim.pair.accessToken)
      const alert = revoking(victim.userId)
      const [noSessions, duplicates] = [
        await handled([a, b], 'no_sessions'),
        await handled([a, b], 'duplicate'),
      ]
      await redis.xadd(config.ALERTS_STREAM, '*', ...encodeEvent(alert))
      await waitFor(async () => (await handled([a, b], 'no_sessions')) === noSessions + 1, 'no_sessions')
      const since = await login(a, victim.identifier)
      await redis.xadd(config.ALERTS_STREAM, '*', ...encodeEvent(alert))
      await waitFor(async () => (await handled([a, b], 'duplicate')) === duplicates + 1, 'the duplicate')
      expect(await meStatus(a, since.accessToken)).toBe(200)
    } finally {
      redis.disconnect()
    }
  })
})

describe('a revoking alert read again after Redis lost what it knew', () => {
  const again: Loss = (redis, alert) => redis.xadd(config.ALERTS_STREAM, '*', ...encodeEvent(alert))
  it.each<[string, Loss]>([
    ['(control) nothing lost; the relay published the alert again', again],
    [
      'FLUSHALL; the relay published the alert again',
      async (r, al) => {
        await flushDeployment(r, config)
        await again(r, al)
      },
    ],
    [
      'the stream deleted; the relay published it again',
      async (r, al) => {
        await r.del(config.ALERTS_STREAM)
        await again(r, al)
      },
    ],
    [
      'the group destroyed; it reads the stream back',
      (r) => r.xgroup('DESTROY', fullKey(config), RISK_ALERT_GROUP),
    ],
    [
      'the group set back before the alert (XGROUP SETID)',
      (r) => r.xgroup('SETID', fullKey(config), RISK_ALERT_GROUP, '0'),
    ],
  ])('%s: the session opened since stays', async (_, lose) => {
    const redis = rawRedis(config)
    try {
      await waitFor(() => groupExists(redis, config), 'the group')
      const victim = await signIn(a)
      const alert = revoking(victim.userId)
      const revokedBefore = await handled([a, b], 'revoked')
      await redis.xadd(config.ALERTS_STREAM, '*', ...encodeEvent(alert))
      await waitFor(
        async () => (await meStatus(a, victim.pair.accessToken)) === 401,
        'the first delivery revoked',
      )
      expect(await handled([a, b], 'revoked')).toBe(revokedBefore + 1)
      const since = await login(a, victim.identifier) // the user signs in again after the risk logout
      const duplicatesBefore = await handled([a, b], 'duplicate')
      await lose(redis, alert)
      await waitFor(
        async () => (await groupExists(redis, config)) && (await caughtUp(redis, config)),
        'caught up',
      )
      // Read again (not skipped): counted as a duplicate (with the earlier cases' alerts where the whole
      // stream is read back), and nothing revoked a second time.
      await waitFor(
        async () => (await handled([a, b], 'duplicate')) > duplicatesBefore,
        'the alert read again and counted as a duplicate',
      )
      expect(await handled([a, b], 'revoked'), 'revoked again').toBe(revokedBefore + 1)
      expect(await meStatus(a, since.accessToken)).toBe(200)
    } finally {
      redis.disconnect()
    }
  })

  it('delivered again after a crash between the commit and the ack, it revokes nothing', async () => {
    const victim = await signIn(a)
    const alert = revoking(victim.userId)
    expect(await a.sessions.revokeForAlert(alert.id, victim.userId, ctx)).toBe(1)
    const since = await login(a, victim.identifier)
    expect(await b.sessions.revokeForAlert(alert.id, victim.userId, ctx)).toBe('duplicate')
    expect(await meStatus(a, since.accessToken)).toBe(200)
  })

  it('delivered to two instances at once, exactly one revokes', async () => {
    for (let round = 0; round < 5; round++) {
      const victim = await signIn(a)
      await login(b, victim.identifier)
      const alert = revoking(victim.userId)
      const outcomes = await Promise.all([
        a.sessions.revokeForAlert(alert.id, victim.userId, ctx),
        b.sessions.revokeForAlert(alert.id, victim.userId, ctx),
      ])
      expect(
        outcomes.filter((o) => o === 'duplicate'),
        `round ${round}: ${outcomes}`,
      ).toHaveLength(1)
      expect(outcomes.filter((o) => o !== 'duplicate')).toEqual([2])
    }
  })

  it('applied alerts older than the window are pruned after the next alert that revokes', async () => {
    const old = new Date(Date.now() - 30 * 86_400_000)
    const ids = Array.from({ length: 3 }, (_, i) => `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`)
    await a.db
      .insertInto('risk_alerts_applied')
      .values(ids.map((alert_id) => ({ alert_id, applied_at: old })))
      .execute()
    const redis = rawRedis(config)
    try {
      await waitFor(() => groupExists(redis, config), 'the group')
      const victim = await signIn(a)
      const alert = revoking(victim.userId)
      await redis.xadd(config.ALERTS_STREAM, '*', ...encodeEvent(alert))
      await waitFor(async () => (await meStatus(a, victim.pair.accessToken)) === 401, 'revoked')
      await waitFor(async () => {
        const left = await a.db
          .selectFrom('risk_alerts_applied')
          .select('alert_id')
          .where('alert_id', 'in', ids)
          .execute()
        return left.length === 0
      }, 'the old rows pruned')
      const kept = await a.db
        .selectFrom('risk_alerts_applied')
        .select('alert_id')
        .where('alert_id', '=', alert.id)
        .execute()
      expect(kept).toHaveLength(1)
    } finally {
      redis.disconnect()
    }
  })
})

describe('a token service that starts while its group is missing', () => {
  // Ran before (the group is on record): Redis lost it during a deploy or a reboot, and what the relay
  // published again is read back. A first start (nothing on record) begins at the stream's end.
  it.each([
    ['that ran before reads back the alert the relay published again, and revokes', true],
    ['on its first start begins at the end of the stream', false],
  ])('a token service %s', async (_, ranBefore) => {
    const c = testConfig('risk_restart', env)
    const redis = rawRedis(c)
    let app: TestApp | undefined
    try {
      // With the group on record (a consumer ran), or without (only the API served: no background).
      const first = await startApp(c, { background: ranBefore })
      if (ranBefore) await waitFor(() => groupExists(redis, c), 'the group')
      const victim = await signIn(first)
      await first.close()
      await redis.del(c.ALERTS_STREAM) // Redis comes back empty while the service is down
      const alert = revoking(victim.userId)
      await redis.xadd(c.ALERTS_STREAM, '*', ...encodeEvent(alert)) // the relay publishes the retained alert
      app = await startApp(c)
      await waitFor(async () => (await groupExists(redis, c)) && (await caughtUp(redis, c)), 'caught up')
      if (ranBefore)
        await waitFor(async () => (await meStatus(app!, victim.pair.accessToken)) === 401, 'revoked')
      else {
        // A later alert is read, the earlier one never is.
        const later = await signIn(app)
        await redis.xadd(c.ALERTS_STREAM, '*', ...encodeEvent(revoking(later.userId)))
        await waitFor(
          async () => (await meStatus(app!, later.pair.accessToken)) === 401,
          'the later alert revoked',
        )
        expect(await meStatus(app, victim.pair.accessToken)).toBe(200)
      }
      expect(await handled([app], 'revoked')).toBe(1)
    } finally {
      await app?.close()
      redis.disconnect()
      await cleanup(c)
    }
  })
})

describe('a revoking alert read again after Redis went back to an older snapshot', () => {
  it('revokes nothing: the session opened since stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'africhain-risk-snapshot-'))
    const own = new OwnRedis({ dir })
    await own.start()
    const c = testConfig('risk_snapshot', { ...env, REDIS_URL: own.url })
    const redis = rawRedis(c)
    redis.on('error', () => {}) // the server restarts
    let app: TestApp | undefined
    try {
      app = await startApp(c)
      await waitFor(() => groupExists(redis, c), 'the group')
      await redis.save() // the snapshot: the group before the alert
      const victim = await signIn(app)
      const alert = revoking(victim.userId)
      await redis.xadd(c.ALERTS_STREAM, '*', ...encodeEvent(alert))
      await waitFor(async () => (await meStatus(app!, victim.pair.accessToken)) === 401, 'revoked')
      const since = await login(app, victim.identifier)
      await own.stop()
      await own.start() // loads the snapshot: the alert, its acknowledgement and anything after it are gone
      await waitFor(async () => (await redis.ping().catch(() => '')) === 'PONG', 'redis answers')
      await redis.xadd(c.ALERTS_STREAM, '*', ...encodeEvent(alert)) // the relay publishes it again
      await waitFor(async () => (await groupExists(redis, c)) && (await caughtUp(redis, c)), 'caught up')
      expect(await handled([app], 'revoked')).toBe(1)
      expect(await handled([app], 'duplicate')).toBe(1)
      expect(await meStatus(app, since.accessToken)).toBe(200)
    } finally {
      await app?.close()
      redis.disconnect()
      await cleanup(c)
      await own.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
