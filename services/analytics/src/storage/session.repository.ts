import { type Kysely, type SelectQueryBuilder, sql, type Transaction } from 'kysely'
import {
  BUCKETS_PER_DOUBLING,
  type DurationStats,
  EXACT_MEDIAN_LIMIT,
  exactMedian,
  histogramMedian,
} from '../domain/duration-stats.ts'
import type { Database } from './tables.ts'

type Db = Kysely<Database> | Transaction<Database>

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
