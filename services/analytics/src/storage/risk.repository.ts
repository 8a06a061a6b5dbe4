import type { RiskFactor } from '@africhain/events'
import { type Kysely, sql, type Transaction } from 'kysely'
import { chunks, proposed } from './sql-helpers.ts'
import type { Database } from './tables.ts'

type Db = Kysely<Database> | Transaction<Database>

export type UserRiskState = { score: number; alerted: boolean; lastEventAt: number | null }

/**
 * Creates missing risk rows and locks every given user's row (X lock through ON DUPLICATE KEY UPDATE, then
 * a locking read), in sorted order. Held to commit, the lock serialises the re-scoring of one user across
 * workers: under READ COMMITTED the holder reads every event committed before it, so the last transaction
 * to score a user always sees all of that user's stored events.
 */
export async function lockUsers(
  trx: Transaction<Database>,
  userIds: readonly string[],
): Promise<Map<string, UserRiskState>> {
  const states = new Map<string, UserRiskState>()
  const sorted = [...userIds].sort()
  for (const part of chunks(sorted, 500)) {
    await trx
      .insertInto('analytics_user_risk')
      .values(part.map((user_id) => ({ user_id, factors: '[]' })))
      .onDuplicateKeyUpdate({ user_id: sql`user_id` })
      .execute()
    const rows = await trx
      .selectFrom('analytics_user_risk')
      .select(['user_id', 'score', 'alerted', 'last_event_at'])
      .where('user_id', 'in', part)
      .forUpdate()
      .execute()
    for (const r of rows)
      states.set(r.user_id, {
        score: Number(r.score),
        alerted: Boolean(r.alerted),
        lastEventAt: r.last_event_at?.getTime() ?? null,
      })
  }
  return states
}

export type UserRiskUpdate = {
  userId: string
  score: number
  factors: RiskFactor[]
  evaluatedAt: Date
  lastEventAt: Date
  alerted: boolean
  alertedAt: Date | null
}

export async function saveUserRisk(trx: Db, updates: readonly UserRiskUpdate[]): Promise<void> {
  for (const part of chunks(updates, 500)) {
    await trx
      .insertInto('analytics_user_risk')
      .values(
        part.map((u) => ({
          user_id: u.userId,
          score: u.score,
          factors: JSON.stringify(u.factors),
          evaluated_at: u.evaluatedAt,
          last_event_at: u.lastEventAt,
          alerted: u.alerted,
          alerted_at: u.alertedAt,
        })),
      )
      .onDuplicateKeyUpdate({
        score: proposed('score'),
        factors: proposed('factors'),
        evaluated_at: proposed('evaluated_at'),
        last_event_at: proposed('last_event_at'),
        alerted: proposed('alerted'),
        alerted_at: sql`coalesce(values(alerted_at), alerted_at)`,
      })
      .execute()
  }
}

export type UserDayScore = { day: string; userId: string; maxScore: number }

/** Marks users as seen on a day and raises the day's highest score (GREATEST: scores only grow with events). */
export async function raiseUserDays(trx: Db, rows: readonly UserDayScore[]): Promise<void> {
  const sorted = [...rows].sort((a, b) =>
    a.day !== b.day ? (a.day < b.day ? -1 : 1) : a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0,
  )
  for (const part of chunks(sorted, 500)) {
    await trx
      .insertInto('analytics_user_days')
      .values(part.map((r) => ({ day: r.day, user_id: r.userId, max_score: r.maxScore })))
      .onDuplicateKeyUpdate({ max_score: sql`greatest(max_score, values(max_score))` })
      .execute()
  }
}

export type StoredRisk = {
  userId: string
  score: number
  factors: RiskFactor[]
  evaluatedAt: Date | null
  lastEventAt: Date | null
}

/**
 * Users whose score at their latest event is above `above` and whose latest event is recent enough to
 * still be in a window ending now: the only users who can be suspicious now (scores never grow as time
 * passes without events), highest first.
 */
export async function flaggedCandidates(
  db: Db,
  above: number,
  since: Date,
  limit: number,
): Promise<StoredRisk[]> {
  const rows = await db
    .selectFrom('analytics_user_risk')
    .select(['user_id', 'score', 'factors', 'evaluated_at', 'last_event_at'])
    .where('score', '>', above)
    .where('last_event_at', '>', since)
    .orderBy('score', 'desc')
    .orderBy('user_id')
    .limit(limit)
    .execute()
  return rows.map((r) => ({
    userId: r.user_id,
    score: Number(r.score),
    factors: JSON.parse(r.factors) as RiskFactor[],
    evaluatedAt: r.evaluated_at,
    lastEventAt: r.last_event_at,
  }))
}

export async function storedRisk(db: Db, userIds: readonly string[]): Promise<StoredRisk[]> {
  if (userIds.length === 0) return []
  const rows = await db
    .selectFrom('analytics_user_risk')
    .select(['user_id', 'score', 'factors', 'evaluated_at', 'last_event_at'])
    .where('user_id', 'in', userIds)
    .orderBy('user_id')
    .execute()
  return rows.map((r) => ({
    userId: r.user_id,
    score: Number(r.score),
    factors: JSON.parse(r.factors) as RiskFactor[],
    evaluatedAt: r.evaluated_at,
    lastEventAt: r.last_event_at,
  }))
}
