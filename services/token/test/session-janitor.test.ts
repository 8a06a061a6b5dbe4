import { randomBytes } from 'node:crypto'
import { type KyselyPlugin, sql } from 'kysely'
import { describe, expect, it, vi } from 'vitest'
import { hashRefreshToken } from '../src/domain/refresh-token.ts'
import { redisLease } from '../src/storage/relay-lease.ts'
import { type JanitorBatch, type JanitorOptions, SessionJanitor } from '../src/storage/session-janitor.ts'
import { refresh, signIn, useTestApp } from './helpers/app.ts'

// No background work: the janitors under test are the only ones running.
const { app, config } = useTestApp('session-janitor', { build: { background: false } })
const HOUR = 3_600_000

const janitor = (opts: Partial<JanitorOptions> = {}) =>
  new SessionJanitor({
    db: app.db,
    lease: redisLease(app.redis, app.redisKeys.janitorLease, 30_000),
    retention: config.SESSION_RETENTION,
    accessTtl: config.ACCESS_TOKEN_TTL,
    intervalMs: 60_000,
    log: app.log,
    ...opts,
  })

type Seed = { expiresAt: Date; revokedAt?: Date; tokens?: number }

/** Sessions written straight to the tables as the service writes them; returns each one's latest token. */
async function seed(userId: string, sessions: Seed[]): Promise<{ id: string; token: string }[]> {
  // Legacy-shaped tokens (random, known only by their row), the kind the service issued before signed ones.
  const made = sessions.map((s) => ({
    ...s,
    id: randomBytes(16).toString('base64url'),
    token: `rt_${randomBytes(32).toString('base64url')}`,
  }))
  for (let i = 0; i < made.length; i += 500) {
    const chunk = made.slice(i, i + 500)
    const created = new Date(Date.now() - 90 * 24 * HOUR)
    await app.db
      .insertInto('sessions')
      .values(
        chunk.map((s) => ({
          id: s.id,
          user_id: userId,
          device_id: null,
          device_platform: 'web',
          device_name: null,
          user_agent: null,
          ip: '127.0.0.1',
          remember_me: 0,
          created_at: created,
          last_active_at: created,
          expires_at: s.expiresAt,
          revoked_at: s.revokedAt ?? null,
          revoked_reason: s.revokedAt ? 'logout' : null,
          generation: s.tokens ?? 1,
          rotated_at: null,
          successor_enc: null,
          current_hash: hashRefreshToken(s.token),
          previous_hash: null,
        })),
      )
      .execute()
    const tokens = chunk.flatMap((s) =>
      Array.from({ length: s.tokens ?? 1 }, (_, g) => ({
        hash: g === (s.tokens ?? 1) - 1 ? hashRefreshToken(s.token) : randomBytes(32),
        session_id: s.id,
        generation: g + 1,
        created_at: created,
      })),
    )
    for (let j = 0; j < tokens.length; j += 1000) {
      await app.db
        .insertInto('refresh_tokens')
        .values(tokens.slice(j, j + 1000))
        .execute()
    }
  }
  return made
}

async function remaining(ids: string[]) {
  const count = async (table: 'sessions' | 'refresh_tokens', column: 'id' | 'session_id') =>
    Number(
      (
        await app.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .where(column, 'in', ids)
          .executeTakeFirstOrThrow()
      ).n,
    )
  return {
    sessions: await count('sessions', 'id'),
    refreshTokens: await count('refresh_tokens', 'session_id'),
  }
}

/** Every janitor starts on a free lease and an empty table of sessions. */
async function fresh() {
  await app.redis.del(app.redisKeys.janitorLease)
  await app.db.deleteFrom('refresh_tokens').execute()
  await app.db.deleteFrom('sessions').execute()
}

describe('session janitor', () => {
  it('deletes sessions ended before the retention with their tokens, keeps live and recently ended ones', async () => {
    await fresh()
    const { userId, pair } = await signIn(app)
    const j = janitor()
    const before = j.cutoff().getTime()
    const future = new Date(Date.now() + 24 * HOUR)
    const cases: { name: string; seed: Seed; kept: boolean; answerBefore: string }[] = [
      { name: 'live', seed: { expiresAt: future }, kept: true, answerBefore: 'ok' },
      {
        name: 'expired an hour ago',
        seed: { expiresAt: new Date(Date.now() - HOUR) },
        kept: true,
        answerBefore: 'TOKEN_EXPIRED',
      },
      {
        name: 'expired just inside the retention',
        seed: { expiresAt: new Date(before + HOUR) },
        kept: true,
        answerBefore: 'TOKEN_EXPIRED',
      },
      {
        name: 'expired before the retention',
        seed: { expiresAt: new Date(before - 60_000), tokens: 40 },
        kept: false,
        answerBefore: 'TOKEN_EXPIRED',
      },
      {
        name: 'revoked an hour ago',
        seed: { expiresAt: future, revokedAt: new Date(Date.now() - HOUR) },
        kept: true,
        answerBefore: 'TOKEN_REVOKED',
      },
      {
        name: 'revoked before the retention, not yet expired',
        seed: { expiresAt: future, revokedAt: new Date(before - 60_000), tokens: 3 },
        kept: false,
        answerBefore: 'TOKEN_REVOKED',
      },
    ]
    const seeded = await seed(
      userId,
      cases.map((c) => c.seed),
    )
    const answer = async (token: string) => {
      const res = await refresh(app, token, null)
      return res.statusCode === 200 ? 'ok' : (res.json().code as string)
    }
    for (const [i, c] of cases.entries()) {
      if (c.answerBefore !== 'ok') expect(await answer(seeded[i]!.token), c.name).toBe(c.answerBefore)
    }

    expect(await j.runOnce()).toEqual({ sessions: 2, refreshTokens: 43, batches: 2 })

    for (const [i, c] of cases.entries()) {
      const left = await remaining([seeded[i]!.id])
      expect(left.sessions, c.name).toBe(c.kept ? 1 : 0)
      expect(left.refreshTokens, c.name).toBe(c.kept ? (c.seed.tokens ?? 1) : 0)
      // A deleted session's token is what the contract (docs/api.md) calls an unknown refresh token; the others answer as before.
      const expected = c.kept ? c.answerBefore : 'TOKEN_INVALID'
      if (expected !== 'ok') expect(await answer(seeded[i]!.token), c.name).toBe(expected)
    }
    expect(await answer(seeded[0]!.token)).toBe('ok')
    // The session made through the API rotates as before.
    const rotated = await refresh(app, pair.refreshToken)
    expect(rotated.statusCode).toBe(200)
    expect(await j.runOnce()).toEqual({ sessions: 0, refreshTokens: 0, batches: 0 })
  })

  it('keeps revoked sessions for at least one access-token lifetime, whatever the retention', async () => {
    const j = janitor({ retention: 1, accessTtl: 6 * 3600 })
    expect(Date.now() - j.cutoff().getTime()).toBeGreaterThanOrEqual(6 * HOUR)
  })

  // An instance whose clock runs ahead by more than the retention (NTP lost, a VM restored from a snapshot)
  // took live sessions for long-ended ones and deleted them: their holders were logged out (TOKEN_INVALID),
  // and a session revoked a minute ago lost the row that re-enforces its revocation after a Redis rollback.
  // The cutoff is now taken on the database's clock, the one clock every instance shares.
  it('an instance whose clock runs ahead deletes nothing that is live or recently ended', async () => {
    await fresh()
    const { userId } = await signIn(app)
    const now = Date.now()
    const cases: [string, Seed][] = [
      ['live for 30 more minutes', { expiresAt: new Date(now + HOUR / 2) }],
      ['revoked a minute ago', { expiresAt: new Date(now + 24 * HOUR), revokedAt: new Date(now - 60_000) }],
      ['expired a minute ago', { expiresAt: new Date(now - 60_000) }],
    ]
    const seeded = await seed(
      userId,
      cases.map(([, s]) => s),
    )
    const j = janitor({ retention: 3600, accessTtl: 900 })
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(now + 3 * HOUR)
      await j.runOnce()
    } finally {
      vi.useRealTimers()
    }
    for (const [i, [name, s]] of cases.entries())
      expect(await remaining([seeded[i]!.id]), name).toEqual({ sessions: 1, refreshTokens: s.tokens ?? 1 })
    const live = await refresh(app, seeded[0]!.token, null)
    expect(live.statusCode).toBe(200)
  })

  it('two instances never both run a batch: the lease holder drains, the other waits', async () => {
    await fresh()
    const { userId } = await signIn(app)
    const seeded = await seed(
      userId,
      Array.from({ length: 300 }, () => ({ expiresAt: new Date(0) })),
    )
    const batches: string[] = []
    const a = janitor({ batchSize: 25, onBatch: () => batches.push('a') })
    const b = janitor({ batchSize: 25, onBatch: () => batches.push('b') })
    const rounds = await Promise.all([a.runOnce(), b.runOnce()])
    const done = rounds.filter((r) => r !== undefined)
    expect(done).toEqual([{ sessions: 300, refreshTokens: 300, batches: 12 }])
    expect(new Set(batches).size).toBe(1)
    expect(await remaining(seeded.map((s) => s.id))).toEqual({ sessions: 0, refreshTokens: 0 })
    // The lease stays with the instance that worked until it lapses: the other still does nothing.
    await seed(userId, [{ expiresAt: new Date(0) }])
    const idle = batches[0] === 'a' ? b : a
    expect(await idle.runOnce()).toBeUndefined()
  })

  it('a big backlog drains over rounds in bounded batches and statements, on index range scans', async () => {
    await fresh()
    const { userId } = await signIn(app)
    const backlog: Seed[] = Array.from({ length: 2_400 }, (_, i) => ({
      expiresAt: new Date(Date.now() - (40 + (i % 30)) * 24 * HOUR),
      tokens: i % 100 === 0 ? 1_200 : 2, // a few sessions rotated for a month
    }))
    const seeded = await seed(userId, backlog)
    const total = await remaining(seeded.map((s) => s.id))

    for (const column of ['expires_at', 'revoked_at']) {
      const [plan] = (
        await sql<{
          key: string
          type: string
        }>`explain select id from sessions where ${sql.ref(column)} < ${new Date()}
          order by ${sql.ref(column)} limit 100`.execute(app.db)
      ).rows
      expect(plan, column).toMatchObject({ type: 'range' })
      expect(plan!.key, column).toBe(column === 'expires_at' ? 'sessions_expiry_idx' : 'sessions_revoked_idx')
    }

    const affected: number[] = []
    const counting: KyselyPlugin = {
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        affected.push(Number(args.result.numAffectedRows ?? 0))
        return args.result
      },
    }
    const batches: JanitorBatch[] = []
    const j = janitor({
      db: app.db.withPlugin(counting),
      batchSize: 100,
      tokenRowsPerStatement: 500,
      maxBatches: 10,
      onBatch: (batch) => batches.push(batch),
    })
    const rounds = []
    for (let round = await j.runOnce(); round && round.sessions > 0; round = await j.runOnce())
      rounds.push(round)
    expect(rounds.map((r) => r.sessions)).toEqual([1_000, 1_000, 400])
    expect(batches.every((b) => b.sessions <= 100)).toBe(true)
    expect(Math.max(...affected)).toBeLessThanOrEqual(500)
    expect(batches.reduce((n, b) => n + b.refreshTokens, 0)).toBe(total.refreshTokens)
    expect(await remaining(seeded.map((s) => s.id))).toEqual({ sessions: 0, refreshTokens: 0 })
  })
})
