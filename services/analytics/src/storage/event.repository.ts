import { type Kysely, sql, type Transaction } from 'kysely'
import type { EventCursor } from '../domain/cursor.ts'
import type { RiskEvent } from '../domain/risk-score.ts'
import { fullEnvelope } from '../domain/stored-envelope.ts'
import { clientNetOf } from './migrations/008-events-by-client.ts'
import { chunks } from './sql-helpers.ts'
import type { Database } from './tables.ts'

type Db = Kysely<Database> | Transaction<Database>

/**
 * The scoring facts of the users' stored events from `from` on (to `to` inclusive, when given), in
 * (user, time, id) order: the one query for "stored events since", used by the API's assessments and by
 * ingest for a history its risk rows do not hold. One range for all users: an `IN` list with one time range
 * is a plain range scan per user on (user_id, occurred_at); a batch's events are close in time, so the
 * common range is barely wider than each user's own. Id columns compare with PAD SPACE, so one user's rows
 * can carry ids that differ in trailing spaces (the caller groups them as it needs).
 */
export async function riskEventRows(
  db: Db,
  userIds: readonly string[],
  from: Date,
  to?: Date,
): Promise<{ userId: string; event: RiskEvent }[]> {
  const out: { userId: string; event: RiskEvent }[] = []
  for (const part of chunks(userIds, 500)) {
    let query = db
      .selectFrom('analytics_events')
      .select(['id', 'type', 'occurred_at', 'user_id', 'ip', 'device_key', 'reason'])
      .where('user_id', 'in', part)
      .where('occurred_at', '>=', from)
    if (to) query = query.where('occurred_at', '<=', to)
    const rows = await query.orderBy('user_id').orderBy('occurred_at').orderBy('id').execute()
    for (const r of rows)
      out.push({
        userId: r.user_id!,
        event: {
          id: r.id,
          type: r.type,
          at: r.occurred_at.getTime(),
          ip: r.ip,
          deviceKey: r.device_key,
          reason: r.reason,
        },
      })
  }
  return out
}

/** The users' events in `[from, to]` by user id as stored, each list in time order. */
export async function riskEventsIn(
  db: Db,
  userIds: readonly string[],
  from: Date,
  to: Date,
): Promise<Map<string, RiskEvent[]>> {
  const byUser = new Map<string, RiskEvent[]>()
  for (const { userId, event } of await riskEventRows(db, userIds, from, to)) {
    const list = byUser.get(userId) ?? []
    if (list.length === 0) byUser.set(userId, list)
    list.push(event)
  }
  return byUser
}

export type EventQuery = {
  /** At least one of the two: one user's events, a client's events (an address, its IPv4 or IPv6 /64), or both. */
  userId?: string | undefined
  ip?: string | undefined
  type?: string | undefined
  from?: Date | undefined
  to?: Date | undefined
  cursor?: EventCursor | undefined
  limit: number
}

/** A user's or a client's events, newest first, `from` inclusive and `to` exclusive; one more row than `limit` tells a next page exists. */
export async function listEvents(
  db: Db,
  q: EventQuery,
): Promise<{ envelope: string; at: number; id: string }[]> {
  const rows = await eventsQuery(db, q).execute()
  return rows.map((r) => ({ envelope: fullEnvelope(r), at: r.occurred_at.getTime(), id: r.id }))
}

/** The query of `listEvents` (a test reads its plan: by user or by client, an index range, never a scan). */
export function eventsQuery(db: Db, q: EventQuery) {
  let query = db
    .selectFrom('analytics_events')
    .select(['id', 'occurred_at', 'type', 'user_id', 'session_id', 'ip', 'envelope'])
  if (q.userId !== undefined) query = query.where('user_id', '=', q.userId)
  if (q.ip !== undefined) query = query.where('client_net', '=', clientNetOf(sql`${q.ip}`))
  if (q.type) query = query.where('type', '=', q.type)
  if (q.from) query = query.where('occurred_at', '>=', q.from)
  if (q.to) query = query.where('occurred_at', '<', q.to)
  const cursor = q.cursor
  if (cursor) {
    const at = new Date(cursor.at)
    query = query.where((eb) =>
      eb.or([eb('occurred_at', '<', at), eb.and([eb('occurred_at', '=', at), eb('id', '<', cursor.id)])]),
    )
  }
  return query
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
}

/** Events by type in `[from, to)` from the event store: the part of a window that hourly counters cannot cut. */
export async function countByType(
  db: Db,
  from: Date,
  to: Date,
  userId?: string,
): Promise<Record<string, number>> {
  let query = db
    .selectFrom('analytics_events')
    .select(['type', sql<number>`count(*)`.as('n')])
    .where('occurred_at', '>=', from)
    .where('occurred_at', '<', to)
  if (userId !== undefined) query = query.where('user_id', '=', userId)
  const rows = await query.groupBy('type').execute()
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]))
}

/** Whether any stored event names the user (every user who registered, logged in or was tried has one). */
export async function userSeen(db: Db, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('analytics_events')
    .select('id')
    .where('user_id', '=', userId)
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}
