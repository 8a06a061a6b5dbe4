import { type Kysely, type SelectQueryBuilder, sql, type Transaction } from 'kysely'
import {
  BUCKETS_PER_DOUBLING,
  type DurationStats,
  EXACT_MEDIAN_LIMIT,
  exactMedian,
  histogramMedian,
} from '../domain/duration-stats.ts'
import type { SessionDelta } from '../domain/session-delta.ts'
import { chunks } from './sql-helpers.ts'
import type { Database } from './tables.ts'

type Db = Kysely<Database> | Transaction<Database>
const d = (ms: number | null) => (ms === null ? null : new Date(ms))

/**
 * Merges session deltas into their rows with the same commutative rules as `sessionDeltas`: creation
 * fields from the earliest creation, the earliest revocation (ties broken by reason). Assignments run left to right (MySQL, MariaDB, TiDB): each condition reads the stored
 * value before the column it compares is itself assigned, which is why `created_at`/`revoked_at` come last.
 */
export async function upsertSessions(trx: Db, deltas: readonly SessionDelta[]): Promise<void> {
  const earlierCreation = sql`(values(created_at) is not null and (created_at is null or values(created_at) < created_at))`
  const earlierRevocation = sql`(values(revoked_at) is not null and (revoked_at is null or values(revoked_at) < revoked_at))`
  for (const part of chunks(deltas, 500)) {
    await trx
      .insertInto('analytics_sessions')
      .values(
        part.map((s) => ({
          session_id: s.sessionId,
          user_id: s.userId,
          platform: s.platform,
          device_key: s.deviceKey,
          remember_me: s.rememberMe,
          created_at: d(s.createdAt),
          expires_at: d(s.expiresAt),
          revoked_at: d(s.revokedAt),
          revoke_reason: s.revokeReason,
        })),
      )
      .onDuplicateKeyUpdate({
        user_id: sql`coalesce(user_id, values(user_id))`,
        platform: sql`if(${earlierCreation}, values(platform), platform)`,
        device_key: sql`if(${earlierCreation}, values(device_key), device_key)`,
        remember_me: sql`if(${earlierCreation}, values(remember_me), remember_me)`,
        expires_at: sql`if(${earlierCreation}, values(expires_at), expires_at)`,
        created_at: sql`if(${earlierCreation}, values(created_at), created_at)`,
        revoke_reason: sql`if(${earlierRevocation} or (values(revoked_at) = revoked_at and values(revoke_reason) < revoke_reason), values(revoke_reason), revoke_reason)`,
        revoked_at: sql`if(${earlierRevocation}, values(revoked_at), revoked_at)`,
      })
      .execute()
  }
}

export type ActiveSessions = { sessions: number; users: number; byPlatform: Record<string, number> }

/** Sessions created and not yet ended (revoked or expired) at `now`; optionally one user's. */
export async function activeSessions(db: Db, now: Date, userId?: string): Promise<ActiveSessions> {
  let query = db
    .selectFrom('analytics_sessions')
    .select(['platform', sql<number>`count(*)`.as('n')])
    .where('ends_at', '>', now)
    .where('created_at', 'is not', null)
  if (userId !== undefined) query = query.where('user_id', '=', userId)
  const rows = await query.groupBy('platform').execute()
  let usersQuery = db
    .selectFrom('analytics_sessions')
    .select(sql<number>`count(distinct user_id)`.as('users'))
    .where('ends_at', '>', now)
    .where('created_at', 'is not', null)
  if (userId !== undefined) usersQuery = usersQuery.where('user_id', '=', userId)
  const users = rows.length === 0 ? 0 : Number((await usersQuery.executeTakeFirstOrThrow()).users)
  const byPlatform: Record<string, number> = {}
  let sessions = 0
  for (const r of rows) {
    byPlatform[r.platform ?? 'unknown'] = Number(r.n)
    sessions += Number(r.n)
  }
  return { sessions, users, byPlatform }
}

/**
 * Durations (seconds, creation to end or to `now` while active) of the sessions active at any time in
 * `[since, now]`. Average and max exact; median exact up to EXACT_MEDIAN_LIMIT sessions, else from the
 * log-scale histogram described in domain/duration-stats.ts.
 */
export async function sessionDurations(
  db: Db,
  now: Date,
  since: Date,
  userId?: string,
): Promise<DurationStats> {
  const seconds = sql<number>`greatest(timestampdiff(microsecond, created_at, least(ends_at, ${now})), 0) / 1000000`
  const scope = <O>(q: SelectQueryBuilder<Database, 'analytics_sessions', O>) => {
    let scoped = q
      .where('ends_at', '>=', since)
      .where('created_at', 'is not', null)
      .where('created_at', '<=', now)
    if (userId !== undefined) scoped = scoped.where('user_id', '=', userId)
    return scoped
  }
  const stats = await scope(
    db
      .selectFrom('analytics_sessions')
      .select([
        sql<number>`count(*)`.as('n'),
        sql<string>`avg(${seconds})`.as('avg'),
        sql<string>`max(${seconds})`.as('max'),
      ]),
  ).executeTakeFirstOrThrow()
  const n = Number(stats.n)
  if (n === 0) return { average: 0, median: 0, max: 0 }
  let median: number
  if (n <= EXACT_MEDIAN_LIMIT) {
    const middle = await scope(db.selectFrom('analytics_sessions').select(seconds.as('s')))
      .orderBy(seconds)
      .limit(n % 2 === 1 ? 1 : 2)
      .offset(Math.floor((n - 1) / 2))
      .execute()
    median = exactMedian(middle.map((r) => Number(r.s)))
  } else {
    const bucket = sql<number>`floor(log2(greatest(${seconds}, 1)) * ${BUCKETS_PER_DOUBLING})`
    const rows = await scope(
      db.selectFrom('analytics_sessions').select([bucket.as('bucket'), sql<number>`count(*)`.as('n')]),
    )
      .groupBy('bucket')
      .execute()
    median = histogramMedian(rows.map((r) => ({ bucket: Number(r.bucket), count: Number(r.n) })))
  }
  return { average: Number(stats.avg), median, max: Number(stats.max) }
}
