import type { RiskFactor } from '@africhain/events'
import type { Kysely, Transaction } from 'kysely'
import type { Database } from './tables.ts'

type Db = Kysely<Database> | Transaction<Database>

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
