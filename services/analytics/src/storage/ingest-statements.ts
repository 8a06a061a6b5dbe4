import { sqlLiteral } from '@africhain/db'
import type { SessionEvent } from '@africhain/events'
import { decodeDayBounds } from '../domain/day-bounds.ts'
import { factsOf, userKey } from '../domain/event-facts.ts'
import type { LockedUser } from '../domain/ingest-plan.ts'
import { eventBucket } from '../domain/partition.ts'
import { decodeRecent } from '../domain/recent-events.ts'
import { slimEnvelope } from '../domain/stored-envelope.ts'
import { inList, type Row, type Stmt, valuesList } from './ingest-script.ts'
import { chunks } from './sql-helpers.ts'

/**
 * The statements of an ingest transaction (storage/ingest.ts) that store the events and lock the users; the
 * risk writes are in risk-statements.ts, sessions, counters and the position in aggregate-statements.ts.
 * One multi-row statement per table and chunk, every value a literal escaped by the driver's rules.
 */

/** Rows per multi-row statement: keeps every packet well under the default `max_allowed_packet`. */
export const ROWS_PER_STATEMENT = 1000

export type StreamPosition = { stream: string; consumer: string; lastId: string }

export const BEGIN: Stmt[] = [{ sql: 'set transaction isolation level read committed' }, { sql: 'begin' }]
export const COMMIT: Stmt[] = [{ sql: 'commit' }]
export const ROLLBACK: Stmt[] = [{ sql: 'rollback' }]

/** The events in key order, (bucket, id): inserts append along each bucket and take their locks in one order. */
export function insertEvents(events: readonly SessionEvent[], token: string): Stmt[] {
  const keyed = events.map((e) => ({ bucket: eventBucket(e), e })).sort(byKey)
  return chunks(keyed, ROWS_PER_STATEMENT).map((part) => {
    const v = valuesList(
      part.map(({ bucket, e }) => {
        const facts = factsOf(e)
        return [
          bucket,
          e.id,
          e.type,
          new Date(e.occurredAt),
          e.userId ?? null,
          e.sessionId ?? null,
          e.ip ?? null,
          facts.deviceKey,
          facts.reason,
          slimEnvelope(e),
          token,
        ]
      }),
    )
    return {
      sql: `insert ignore into analytics_events (bucket, id, type, occurred_at, user_id, session_id, ip, device_key, reason, envelope, ingest_token) values ${v}`,
    }
  })
}

/** The rows of this transaction: a duplicate keeps the token of the transaction that stored it first. */
export function selectInserted(events: readonly SessionEvent[], token: string): Stmt[] {
  const byBucket = new Map<number, string[]>()
  for (const e of events) {
    const b = eventBucket(e)
    const ids = byBucket.get(b) ?? []
    if (ids.length === 0) byBucket.set(b, ids)
    ids.push(e.id)
  }
  return [...byBucket].map(([bucket, ids]) => ({
    sql: `select id from analytics_events where bucket = ${bucket} and id in ${inList(ids)} and ingest_token = ${sqlLiteral(token)}`,
  }))
}

function byKey(a: { bucket: number; e: SessionEvent }, b: { bucket: number; e: SessionEvent }): number {
  return a.bucket - b.bucket || (a.e.id < b.e.id ? -1 : a.e.id > b.e.id ? 1 : 0)
}

/**
 * Locks every given user's existing risk row (a locking read, in key order) and reads its state. Held to
 * commit, the lock serialises the re-scoring of one user across workers: under READ COMMITTED the holder
 * sees every event and every history the previous holder committed. A missing row is created later by a
 * plain INSERT, which fails (and the transaction runs again) if another transaction created it meanwhile.
 */
export function lockUsers(sorted: readonly string[]): Stmt[] {
  return chunks(sorted, ROWS_PER_STATEMENT).map((part) => {
    const ids = inList(part)
    return {
      sql: `select user_id, alerted, holder_score, last_event_at, recent_from, recent, day_bounds from analytics_user_risk where user_id in ${ids} for update`,
    }
  })
}

/** The locked risk rows, by user key. */
export function lockedUsersOf(rows: readonly Row[][]): Map<string, LockedUser> {
  const out = new Map<string, LockedUser>()
  for (const part of rows)
    for (const r of part) {
      const events = r.recent === null ? null : decodeRecent(r.recent as string)
      out.set(userKey(r.user_id as string), {
        alerted: Boolean(r.alerted),
        holderScore: Number(r.holder_score),
        lastEventAt: (r.last_event_at as Date | null)?.getTime() ?? null,
        recent: events && { from: (r.recent_from as Date | null)?.getTime() ?? null, events },
        dayBounds: decodeDayBounds(r.day_bounds as string | null),
      })
    }
  return out
}

/** Ids among `rows` (the `selectInserted` results). */
export function idsOf(rows: readonly Row[][]): Set<string> {
  return new Set(rows.flatMap((part) => part.map((r) => r.id as string)))
}
