import { randomBytes } from 'node:crypto'
import { isDuplicateKey, retryOnDeadlock } from '@africhain/db'
import type { RiskAlert, SessionEvent } from '@africhain/events'
import type { Kysely } from 'kysely'
import { decodeDayBounds } from '../domain/day-bounds.ts'
import { factsOf, userKey } from '../domain/event-facts.ts'
import { covers, decodeRecent, type RecentLimits } from '../domain/recent-events.ts'
import type { RiskRules } from '../domain/risk-rules.ts'
import { byTime, type RiskEvent } from '../domain/risk-score.ts'
import { sessionDeltas } from '../domain/session-delta.ts'
import { type History, rescore, type UserState } from './ingest-risk.ts'
import { runScript, type Stmt } from './ingest-script.ts'
import {
  addCounters,
  insertEvents,
  lockUsers,
  riskEventOf,
  type StreamPosition,
  savePosition,
  selectInserted,
  storedEventsFrom,
  upsertSessions,
} from './ingest-statements.ts'
import type { Database } from './tables.ts'
export type IngestOptions = {
  rules: RiskRules
  /** Wall-clock time: alert timestamps and the freshness of a crossing. */
  now?: () => Date
  /** Committed with the batch: the highest stream entry id it contains, for gap detection. */
  position?: StreamPosition
  /** Test seam: runs inside the transaction right before COMMIT (the crash tests kill the process here). */
  beforeCommit?: () => Promise<void>
  /**
   * `db` was created with `multipleStatements`: the transaction then takes two round trips (three with
   * `beforeCommit`) instead of one per statement. Same statements, same locks, same order either way.
   */
  multipleStatements?: boolean
  /** How much of each user's recent history the risk row keeps (domain/recent-events.ts). */
  recent?: RecentLimits
}

export type IngestResult = { stored: number; duplicates: number; alerts: RiskAlert[] }

/**
 * Stores a batch of events and everything they change, in one READ COMMITTED transaction:
 *   1. INSERT IGNORE the events (unique on (bucket, envelope id), the bucket a function of the user); when
 *      the affected-row count says some were duplicates, one SELECT of the ids this transaction inserted (a
 *      random per-transaction token in `ingest_token`): only those change aggregates, so a redelivered
 *      event, committed before, changes nothing;
 *   2. lock the risk rows of the batch's users (a locking read, sorted) and take their recent history from
 *      them; only a user whose new events are older than that history reaches (late events) costs a read
 *      of the event store (after the lock: the previous holder's events are committed and visible);
 *   — in memory: session merges, day/hour counter sums, one re-score per user —
 *   3. merge session rows, raise the per-day scores above the row's known bounds, save the risk rows
 *      (history included) and the outbox alerts (upward crossings), add the counters, raise the stream
 *      position, COMMIT.
 * Steps 1–2 are one round trip and step 3 another on a `multipleStatements` connection. Locks are taken
 * in that fixed order and sorted by key within each statement, so concurrent workers do not deadlock; a
 * deadlock victim runs again, and so does a transaction that found a user's row missing while another
 * transaction created it (its plain INSERT fails with a duplicate key: the retry reads that row). The
 * caller acknowledges the stream entries only after this resolves.
 */
export async function ingestBatch(
  db: Kysely<Database>,
  events: readonly SessionEvent[],
  opts: IngestOptions,
): Promise<IngestResult> {
  const unique = [...new Map(events.map((e) => [e.id, e])).values()].sort((a, b) => (a.id < b.id ? -1 : 1))
  const multi = opts.multipleStatements === true
  // A deadlock victim runs again, and so does a transaction whose plain INSERT of a risk row lost the race
  // to another that created it (the only duplicate key ingest can hit; every other write is an upsert).
  return retryOnDeadlock(
    () =>
      db.connection().execute(async (conn) => {
        const c = conn as unknown as Kysely<unknown>
        try {
          return await transaction(c, unique, events.length, opts, multi)
        } catch (err) {
          await runScript(c, [{ sql: 'rollback' }], false).catch(() => {})
          throw err
        }
      }),
    { attempts: 5, also: isDuplicateKey, jitterMs: 20 },
  )
}

async function transaction(
  c: Kysely<unknown>,
  unique: readonly SessionEvent[],
  delivered: number,
  opts: IngestOptions,
  multi: boolean,
): Promise<IngestResult> {
  const now = opts.now?.() ?? new Date()
  const token = randomBytes(8).toString('hex')

  // Round trip 1: begin, insert, lock users and read their state.
  const users = [...new Set(unique.flatMap((e) => (e.userId ? [userKey(e.userId)] : [])))].sort()
  const first: Stmt[] = [
    { sql: 'set transaction isolation level read committed' },
    { sql: 'begin' },
    ...insertEvents(unique, token),
  ]
  const insertsEnd = first.length
  const lockAt = first.length
  first.push(...lockUsers(users))
  const results = await runScript(c, first, multi)

  // Which ids are new: all of them when every row was inserted (the common case), else one SELECT of the
  // rows carrying this transaction's token (a round trip only for batches with duplicates).
  const insertedCount = results.affected.slice(2, insertsEnd).reduce((a, b) => a + b, 0)
  let fresh: SessionEvent[] = [...unique]
  if (insertedCount !== unique.length) {
    const inserted = new Set<string>()
    for (const rows of (await runScript(c, selectInserted(unique, token), multi)).rows)
      for (const r of rows) inserted.add(r.id as string)
    fresh = unique.filter((e) => inserted.has(e.id))
  }
  const states = new Map<string, UserState>()
  for (const rows of results.rows.slice(lockAt))
    for (const r of rows) {
      const events = r.recent === null ? null : decodeRecent(r.recent as string)
      states.set(userKey(r.user_id as string), {
        alerted: Boolean(r.alerted),
        holderScore: Number(r.holder_score),
        lastEventAt: (r.last_event_at as Date | null)?.getTime() ?? null,
        recent: events && { from: (r.recent_from as Date | null)?.getTime() ?? null, events },
        dayBounds: decodeDayBounds(r.day_bounds as string | null),
      })
    }

  // Round trip 2: everything the new events change, then COMMIT.
  const second: Stmt[] = []
  let alerts: RiskAlert[] = []
  if (fresh.length > 0) {
    second.push(...upsertSessions(sessionDeltas(fresh)))
    const histories = await historiesOf(c, fresh, states, opts.rules, multi)
    const scored = rescore(histories, states, opts, now)
    alerts = scored.alerts
    second.push(...scored.stmts)
    second.push(...addCounters(fresh))
  }
  if (opts.position) second.push(savePosition(opts.position, now))
  if (!opts.beforeCommit) second.push({ sql: 'commit' })
  await runScript(c, second, multi)
  if (opts.beforeCommit) {
    await opts.beforeCommit()
    await runScript(c, [{ sql: 'commit' }], false)
  }
  return { stored: fresh.length, duplicates: delivered - fresh.length, alerts }
}

/**
 * Each user's history with the new events merged in: from the risk row when its recent history reaches
 * back far enough (or the user is new: no row, no stored events), else from one read of the event store for
 * all such users, from the earliest point any of them needs (the store already holds this batch's events).
 */
async function historiesOf(
  c: Kysely<unknown>,
  fresh: readonly SessionEvent[],
  states: ReadonlyMap<string, UserState>,
  rules: RiskRules,
  multi: boolean,
): Promise<Map<string, History>> {
  const added = new Map<string, RiskEvent[]>()
  for (const e of fresh) {
    if (!e.userId) continue
    const user = userKey(e.userId)
    const list = added.get(user) ?? []
    if (list.length === 0) added.set(user, list)
    const facts = factsOf(e)
    list.push({
      id: e.id,
      type: e.type,
      at: Date.parse(e.occurredAt),
      ip: e.ip ?? null,
      deviceKey: facts.deviceKey,
      reason: facts.reason,
    })
  }
  const histories = new Map<string, History>()
  const unread: string[] = []
  let readFrom = Number.POSITIVE_INFINITY
  for (const [userId, list] of added) {
    const newTimes = list.map((e) => e.at)
    const newMin = Math.min(...newTimes)
    const state = states.get(userId)
    if (!state) {
      histories.set(userId, { from: null, events: list.sort(byTime), newTimes })
    } else if (state.recent && covers(state.recent, newMin, rules)) {
      const events = [...state.recent.events, ...list].sort(byTime)
      histories.set(userId, { from: state.recent.from, events, newTimes })
    } else {
      unread.push(userId)
      readFrom = Math.min(readFrom, newMin - rules.windowMs)
      histories.set(userId, { from: readFrom, events: [], newTimes })
    }
  }
  if (unread.length > 0) {
    const result = await runScript(c, storedEventsFrom(unread, new Date(readFrom)), multi)
    for (const rows of result.rows)
      for (const r of rows) histories.get(userKey(r.user_id as string))?.events.push(riskEventOf(r))
    for (const userId of unread) histories.get(userId)!.from = readFrom
  }
  return histories
}

/** Raises a consumer's committed position on its own: for a batch stored as several parts, once all committed. */
export async function recordPosition(
  db: Kysely<Database>,
  position: StreamPosition,
  now: Date,
): Promise<void> {
  await runScript(db as unknown as Kysely<unknown>, [savePosition(position, now)], false)
}
