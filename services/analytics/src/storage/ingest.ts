import { randomBytes } from 'node:crypto'
import { isDuplicateKey, retryOnDeadlock } from '@africhain/db'
import type { RiskAlert, SessionEvent } from '@africhain/events'
import type { Kysely } from 'kysely'
import { userKey } from '../domain/event-facts.ts'
import { historyNeeds } from '../domain/history-coverage.ts'
import { type LockedUser, planIngest } from '../domain/ingest-plan.ts'
import type { RiskRules } from '../domain/risk-rules.ts'
import type { RiskEvent } from '../domain/risk-score.ts'
import { addCounters, savePosition, upsertSessions } from './aggregate-statements.ts'
import { riskEventRows } from './event.repository.ts'
import { runScript } from './ingest-script.ts'
import {
  BEGIN,
  COMMIT,
  idsOf,
  insertEvents,
  leavingEvents,
  leavingOf,
  lockedUsersOf,
  lockUsers,
  ROLLBACK,
  type StreamPosition,
  selectInserted,
} from './ingest-statements.ts'
import { insertAlerts, insertRisk, updateHistory, updateRisk, writeDayMaxima } from './risk-statements.ts'
import type { Database } from './tables.ts'

export type IngestOptions = {
  rules: RiskRules
  /** Wall-clock time: alert timestamps and the freshness of a crossing. */
  now?: () => Date
  /** Committed with the batch: the highest stream entry id it contains, for gap detection. */
  position?: StreamPosition
  /**
   * `db` was created with `multipleStatements`: the transaction then takes two round trips instead of one
   * per statement. Same statements, same locks, same order either way.
   */
  multipleStatements?: boolean
}

export type IngestResult = {
  stored: number
  duplicates: number
  alerts: RiskAlert[]
  /** Users whose risk row was written without a sweep state (domain/ingest-plan.ts `unkeptStates`). */
  unkeptStates: string[]
}

/**
 * Stores a batch of events and everything they change, in one READ COMMITTED transaction:
 *   1. INSERT IGNORE the events (unique on (bucket, envelope id), the bucket a function of the user); when
 *      the affected-row count says some were duplicates, one SELECT of the ids this transaction inserted (a
 *      random per-transaction token in `ingest_token`): only those change aggregates, so a redelivered
 *      event, committed before, changes nothing;
 *   2. lock the risk rows of the batch's users (a locking read, sorted) and read the stored events leaving
 *      their windows (after the lock: the previous holder's events are committed and visible); only users
 *      with events older than their row's state (late events) cost a read of their stored history;
 *   — the plan, in memory (domain/ingest-plan.ts): session merges, counter sums, one re-score per user —
 *   3. write it: sessions, per-day scores, risk rows, outbox alerts, counters, the stream position; COMMIT.
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
  return retryOnDeadlock(
    () =>
      db.connection().execute(async (conn) => {
        try {
          return await transaction(conn, unique, events.length, opts, multi)
        } catch (err) {
          await runScript(conn, { rollback: ROLLBACK }, false).catch(() => {})
          throw err
        }
      }),
    { attempts: 5, also: isDuplicateKey, jitterMs: 20 },
  )
}

async function transaction(
  conn: Kysely<Database>,
  unique: readonly SessionEvent[],
  delivered: number,
  opts: IngestOptions,
  multi: boolean,
): Promise<IngestResult> {
  const now = opts.now?.() ?? new Date()
  const token = randomBytes(8).toString('hex')

  // Round trip 1: begin, insert, lock users and read their state.
  const users = [...new Set(unique.flatMap((e) => (e.userId ? [userKey(e.userId)] : [])))].sort()
  const newMax = unique.reduce((max, e) => Math.max(max, Date.parse(e.occurredAt)), 0)
  const leavingTo = new Date(newMax - opts.rules.windowMs + opts.rules.rapidWindowMs)
  const first = await runScript(
    conn,
    {
      begin: BEGIN,
      insert: insertEvents(unique, token),
      lock: lockUsers(users),
      leaving: leavingEvents(users, leavingTo, opts.rules),
    },
    multi,
  )
  // Which ids are new: all of them when every row was inserted (the common case), else one SELECT of the
  // rows carrying this transaction's token (a round trip only for batches with duplicates).
  let fresh: readonly SessionEvent[] = unique
  if (first.insert.affected.reduce((a, b) => a + b, 0) !== unique.length) {
    const inserted = idsOf(
      (await runScript(conn, { inserted: selectInserted(unique, token) }, multi)).inserted.rows,
    )
    fresh = unique.filter((e) => inserted.has(e.id))
  }
  const locked = lockedUsersOf(first.lock.rows)
  const leaving = leavingOf(first.leaving.rows)
  const plan = fresh.length > 0 ? await planOf(conn, fresh, locked, leaving, opts, now) : undefined

  // Round trip 2: everything the new events change, then COMMIT.
  await runScript(
    conn,
    {
      sessions: plan ? upsertSessions(plan.sessions) : [],
      dayMaxima: plan ? writeDayMaxima(plan) : [],
      newRisk: plan ? insertRisk(plan) : [],
      changedRisk: plan ? updateRisk(plan) : [],
      historyOnly: plan ? updateHistory(plan) : [],
      alerts: plan ? insertAlerts(plan, now) : [],
      counters: plan ? addCounters(plan.counters) : [],
      position: opts.position ? [savePosition(opts.position, now)] : [],
      commit: COMMIT,
    },
    multi,
  )
  return {
    stored: fresh.length,
    duplicates: delivered - fresh.length,
    alerts: plan?.alerts ?? [],
    unkeptStates: plan?.unkeptStates ?? [],
  }
}

/** The plan, after one read of the event store for the users whose risk rows cannot take the batch in order. */
async function planOf(
  conn: Kysely<Database>,
  fresh: readonly SessionEvent[],
  locked: ReadonlyMap<string, LockedUser>,
  leaving: ReadonlyMap<string, RiskEvent[]>,
  opts: IngestOptions,
  now: Date,
) {
  const needs = historyNeeds(fresh, locked, opts.rules)
  const stored = new Map<string, RiskEvent[]>()
  if (needs.read)
    for (const { userId, event } of await riskEventRows(conn, needs.read.users, new Date(needs.read.from))) {
      // In (user, time) order, with PAD SPACE: ids that differ in trailing spaces are one user, interleaved.
      const key = userKey(userId)
      const list = stored.get(key) ?? []
      if (list.length === 0) stored.set(key, list)
      list.push(event)
    }
  return planIngest(fresh, needs, locked, { leaving, stored }, { rules: opts.rules, now })
}

/** Raises a consumer's committed position on its own: for a batch stored as several parts, once all committed. */
export async function recordPosition(
  db: Kysely<Database>,
  position: StreamPosition,
  now: Date,
): Promise<void> {
  await runScript(db, { position: [savePosition(position, now)] }, false)
}
