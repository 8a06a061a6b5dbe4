import { sqlLiteral } from '@africhain/db'
import type { SessionEvent } from '@africhain/events'
import { decodeDayBounds } from '../domain/day-bounds.ts'
import { factsOf, userKey } from '../domain/event-facts.ts'
import type { LockedUser } from '../domain/ingest-plan.ts'
import { eventBucket } from '../domain/partition.ts'
import type { RiskRules } from '../domain/risk-rules.ts'
import type { RiskEvent } from '../domain/risk-score.ts'
import { slimEnvelope } from '../domain/stored-envelope.ts'
import { decodeSweep } from '../domain/sweep-encoding.ts'
import { TAIL_MS } from '../domain/sweep-state.ts'
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
          facts.ip,
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
      sql: `select user_id, alerted, holder_score, last_event_at, sweep, day_bounds from analytics_user_risk where user_id in ${ids} for update`,
    }
  })
}

/** The locked risk rows, by user key. */
export function lockedUsersOf(rows: readonly Row[][]): Map<string, LockedUser> {
  const out = new Map<string, LockedUser>()
  for (const part of rows)
    for (const r of part)
      out.set(userKey(r.user_id as string), {
        alerted: Boolean(r.alerted),
        holderScore: Number(r.holder_score),
        lastEventAt: (r.last_event_at as Date | null)?.getTime() ?? null,
        sweep: r.sweep === null ? null : decodeSweep(r.sweep as string),
        dayBounds: decodeDayBounds(r.day_bounds as string | null),
      })
  return out
}

/** Users per `leavingEvents` statement: one UNION ALL part each, a few hundred bytes of SQL. */
const USERS_PER_LEAVING_STATEMENT = 200

/**
 * The stored events that can leave the locked users' windows during this batch (domain/sweep-state.ts
 * `leavingRange`): after the lock, each user's from their row's `last_event_at` less a window and `TAIL_MS`
 * (the state's checkpoint is no earlier: domain/sweep-state.ts), up to `to` — the batch's latest event less
 * a window plus a rapid span, one bound for all users (a user whose own batch ends earlier reads a little
 * more, which the state ignores) — or further, to the user's latest event less a window plus a rapid span: a
 * batch older than the user's latest event (within the tail) walks on to that event, so it needs what
 * `leavingRange` asks for from there. In the common case the range holds about as many events as the batch
 * brings, and none while the window's start passes no event. Rows without a state read nothing (their
 * bounds are NULL): they are re-scored from the store.
 *
 * One index range per user on (user_id, occurred_at), so the cost is the range's, not the user's history.
 * That takes one UNION ALL part per user whose bounds are scalar subqueries on the user's risk row: a
 * point read on the primary key, which the optimizer evaluates before it plans the range. A join of the
 * risk rows to the events (the bounds from the joined row) is planned as a lookup on user_id alone with
 * the time bounds filtered entry by entry: it walked the user's whole window, 10,000 index entries for a
 * user with 10,000 events, on every batch. The index is named so that no plan by time across all users
 * (`analytics_events_time_type`) takes its place.
 */
export function leavingEvents(sorted: readonly string[], to: Date, rules: RiskRules): Stmt[] {
  const fromUs = Math.round(rules.windowMs + TAIL_MS) * 1000
  const toUs = Math.round(rules.windowMs - rules.rapidWindowMs) * 1000
  const upTo = sqlLiteral(to)
  return chunks(sorted, USERS_PER_LEAVING_STATEMENT).map((part) => ({
    sql: part
      .map((userId) => {
        const user = sqlLiteral(userId)
        const risk = `from analytics_user_risk r where r.user_id = ${user} and r.sweep is not null`
        return `(select e.user_id, e.id, e.type, e.occurred_at, e.ip, e.device_key, e.reason from analytics_events e force index (analytics_events_user_time) where e.user_id = ${user} and e.occurred_at > (select r.last_event_at - interval ${fromUs} microsecond ${risk}) and e.occurred_at <= (select greatest(${upTo}, r.last_event_at - interval ${toUs} microsecond) ${risk}))`
      })
      .join(' union all '),
  }))
}

/** The `leavingEvents` rows by user key. */
export function leavingOf(rows: readonly Row[][]): Map<string, RiskEvent[]> {
  const out = new Map<string, RiskEvent[]>()
  for (const part of rows)
    for (const r of part) {
      const key = userKey(r.user_id as string)
      const list = out.get(key) ?? []
      if (list.length === 0) out.set(key, list)
      list.push({
        id: r.id as string,
        type: r.type as string,
        at: (r.occurred_at as Date).getTime(),
        ip: r.ip as string | null,
        deviceKey: r.device_key as string | null,
        reason: r.reason as string | null,
      })
    }
  return out
}

/** Ids among `rows` (the `selectInserted` results). */
export function idsOf(rows: readonly Row[][]): Set<string> {
  return new Set(rows.flatMap((part) => part.map((r) => r.id as string)))
}
