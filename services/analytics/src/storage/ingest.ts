import { randomBytes } from 'node:crypto'
import { sqlLiteral } from '@africhain/db'
import { newRiskAlert, type RiskAlert, type SessionEvent } from '@africhain/events'
import type { Kysely } from 'kysely'
import { counterDeltas, factsOf, userKey } from '../domain/event-facts.ts'
import {
  covers,
  decodeRecent,
  encodeRecent,
  type RecentEvents,
  type RecentLimits,
  trimRecent,
} from '../domain/recent-events.ts'
import type { RiskRules } from '../domain/risk-rules.ts'
import { byTime, type RiskEvent } from '../domain/risk-score.ts'
import { type SessionDelta, sessionDeltas } from '../domain/session-delta.ts'
import { slimEnvelope } from '../domain/stored-envelope.ts'
import { alertTransition, rescoreUser } from '../domain/user-rescore.ts'
import { inList, type Row, runScript, type Stmt, valuesList } from './ingest-script.ts'
import { chunks, retryOnConflict } from './sql-helpers.ts'
import { positionKey } from './stream-position.repository.ts'
import type { Database } from './tables.ts'

export type IngestOptions = {
  rules: RiskRules
  /** Wall-clock time: alert timestamps and the freshness of a crossing. */
  now?: () => Date
  /** Committed with the batch: the highest stream entry id it contains, for gap detection. */
  position?: { stream: string; consumer: string; lastId: string }
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

/** Rows per multi-row statement: keeps every packet well under the default `max_allowed_packet`. */
const ROWS_PER_STATEMENT = 1000

type UserState = { alerted: boolean; lastEventAt: number | null; recent: RecentEvents | null }

/**
 * Stores a batch of events and everything they change, in one READ COMMITTED transaction:
 *   1. INSERT IGNORE the events (unique on envelope id); when the affected-row count says some were
 *      duplicates, one SELECT of the ids this transaction inserted (a random per-transaction token in
 *      `ingest_batch`): only those change aggregates, so a redelivered event, committed before, changes nothing;
 *   2. lock the risk rows of the batch's users (a locking read, sorted) and take their recent history from
 *      them; only a user whose new events are older than that history reaches (late events) costs a read
 *      of the event store (after the lock: the previous holder's events are committed and visible);
 *   — in memory: session merges, day/hour counter sums, one re-score per user —
 *   3. merge session rows, raise per-day scores, save the risk rows (history included) and the outbox
 *      alerts (upward crossings), add the counters, raise the stream position, COMMIT.
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
  return retryOnConflict(() =>
    db.connection().execute(async (conn) => {
      const c = conn as unknown as Kysely<unknown>
      try {
        return await transaction(c, unique, events.length, opts, multi)
      } catch (err) {
        await runScript(c, [{ sql: 'rollback' }], false).catch(() => {})
        throw err
      }
    }),
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
        lastEventAt: (r.last_event_at as Date | null)?.getTime() ?? null,
        recent: events && { from: (r.recent_from as Date | null)?.getTime() ?? null, events },
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

/** A user's history for re-scoring: every stored event from `from` on (new ones included) and their new times. */
type History = RecentEvents & { newTimes: number[] }

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

function riskEventOf(r: Row): RiskEvent {
  return {
    id: r.id as string,
    type: r.type as string,
    at: (r.occurred_at as Date).getTime(),
    ip: r.ip as string | null,
    deviceKey: r.device_key as string | null,
    reason: r.reason as string | null,
  }
}

function insertEvents(events: readonly SessionEvent[], token: string): Stmt[] {
  return chunks(events, ROWS_PER_STATEMENT).map((part) => {
    const v = valuesList(
      part.map((e) => {
        const facts = factsOf(e)
        return [
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
      sql: `insert ignore into analytics_events (id, type, occurred_at, user_id, session_id, ip, device_key, reason, envelope, ingest_batch) values ${v}`,
    }
  })
}

/** The rows of this transaction: a duplicate keeps the token of the transaction that stored it first. */
function selectInserted(events: readonly SessionEvent[], token: string): Stmt[] {
  return chunks(events, ROWS_PER_STATEMENT).map((part) => {
    const ids = inList(part.map((e) => e.id))
    return {
      sql: `select id from analytics_events where id in ${ids} and ingest_batch = ${sqlLiteral(token)}`,
    }
  })
}

/**
 * Locks every given user's existing risk row (a locking read, in key order) and reads its state. Held to
 * commit, the lock serialises the re-scoring of one user across workers: under READ COMMITTED the holder
 * sees every event and every history the previous holder committed. A missing row is created later by a
 * plain INSERT, which fails (and the transaction runs again) if another transaction created it meanwhile.
 */
function lockUsers(sorted: readonly string[]): Stmt[] {
  return chunks(sorted, ROWS_PER_STATEMENT).map((part) => {
    const ids = inList(part)
    return {
      sql: `select user_id, alerted, last_event_at, recent_from, recent from analytics_user_risk where user_id in ${ids} for update`,
    }
  })
}

/** The scoring facts of the users' stored events from `from` on, per user in time order. */
function storedEventsFrom(users: readonly string[], from: Date): Stmt[] {
  return chunks(users, ROWS_PER_STATEMENT).map((part) => {
    const ids = inList(part)
    return {
      sql: `select id, type, occurred_at, user_id, ip, device_key, reason from analytics_events where user_id in ${ids} and occurred_at >= ${sqlLiteral(from)} order by user_id, occurred_at, id`,
    }
  })
}

const d = (ms: number | null) => (ms === null ? null : new Date(ms))

/**
 * Merges session deltas into their rows with the same commutative rules as `sessionDeltas`: creation
 * fields from the earliest creation, the earliest revocation (ties broken by reason). Assignments run left
 * to right (MySQL, MariaDB, TiDB): each condition reads the stored value before the column it compares is
 * itself assigned, which is why `created_at`/`revoked_at` come last.
 */
function upsertSessions(deltas: readonly SessionDelta[]): Stmt[] {
  const earlierCreation =
    '(values(created_at) is not null and (created_at is null or values(created_at) < created_at))'
  const earlierRevocation =
    '(values(revoked_at) is not null and (revoked_at is null or values(revoked_at) < revoked_at))'
  return chunks(deltas, ROWS_PER_STATEMENT).map((part) => {
    const v = valuesList(
      part.map((s) => [
        s.sessionId,
        s.userId,
        s.platform,
        s.deviceKey,
        s.rememberMe,
        d(s.createdAt),
        d(s.expiresAt),
        d(s.revokedAt),
        s.revokeReason,
      ]),
    )
    return {
      sql: `insert into analytics_sessions (session_id, user_id, platform, device_key, remember_me, created_at, expires_at, revoked_at, revoke_reason) values ${v} on duplicate key update
        user_id = coalesce(user_id, values(user_id)),
        platform = if(${earlierCreation}, values(platform), platform),
        device_key = if(${earlierCreation}, values(device_key), device_key),
        remember_me = if(${earlierCreation}, values(remember_me), remember_me),
        expires_at = if(${earlierCreation}, values(expires_at), expires_at),
        created_at = if(${earlierCreation}, values(created_at), created_at),
        revoke_reason = if(${earlierRevocation} or (values(revoked_at) = revoked_at and values(revoke_reason) < revoke_reason), values(revoke_reason), revoke_reason),
        revoked_at = if(${earlierRevocation}, values(revoked_at), revoked_at)`,
    }
  })
}

/** Day/hour counter sums of the batch, one upsert row per key, sorted (a fixed lock order between workers). */
function addCounters(fresh: readonly SessionEvent[]): Stmt[] {
  return chunks(counterDeltas(fresh), ROWS_PER_STATEMENT).map((part) => {
    const v = valuesList(part.map((c) => [c.day, c.hour, c.metric, c.count]))
    return {
      sql: `insert into analytics_counters (\`day\`, \`hour\`, metric, \`count\`) values ${v} on duplicate key update \`count\` = \`count\` + values(\`count\`)`,
    }
  })
}

/** Raises this consumer's committed position (one row per consumer: workers never contend on it). */
function savePosition(p: NonNullable<IngestOptions['position']>, now: Date): Stmt {
  return {
    sql: `insert into analytics_stream_positions (stream, consumer, last_key, updated_at) values ${valuesList([[p.stream, p.consumer, positionKey(p.lastId), now]])} on duplicate key update last_key = greatest(last_key, values(last_key)), updated_at = values(updated_at)`,
  }
}

/** The same, on its own: for a batch stored as several transactions, once all of them committed. */
export async function recordPosition(
  db: Kysely<Database>,
  position: NonNullable<IngestOptions['position']>,
  now: Date,
): Promise<void> {
  await runScript(db as unknown as Kysely<unknown>, [savePosition(position, now)], false)
}

/**
 * One re-score per user with new events (every evaluation point the new events can change, see
 * domain/user-rescore.ts), then the writes: per-day maxima (GREATEST), the risk rows with their trimmed
 * history (an upsert for existing rows, a plain INSERT for new ones), outbox alerts.
 */
function rescore(
  histories: ReadonlyMap<string, History>,
  states: ReadonlyMap<string, UserState>,
  opts: IngestOptions,
  now: Date,
): { stmts: Stmt[]; alerts: RiskAlert[] } {
  const rules = opts.rules
  const days: [string, string, number][] = []
  const created: unknown[][] = []
  const updated: unknown[][] = []
  const historyOnly: unknown[][] = []
  const alerts: RiskAlert[] = []
  for (const userId of [...histories.keys()].sort()) {
    const history = histories.get(userId)!
    const state = states.get(userId)
    const latestAt = history.newTimes.reduce(
      (max, t) => Math.max(max, t),
      state?.lastEventAt ?? Number.NEGATIVE_INFINITY,
    )
    const { dayMax, current } = rescoreUser(history.events, history.newTimes, latestAt, rules)
    for (const [day, maxScore] of dayMax) days.push([day, userId, maxScore])
    const kept = trimRecent(history, latestAt, rules, opts.recent)
    const keptFrom = kept.from === null ? null : new Date(kept.from)
    const keptText = encodeRecent(kept.events)
    if (!current) {
      historyOnly.push([userId, '[]', new Date(latestAt), keptFrom, keptText])
      continue
    }
    const isFresh = current.at > now.getTime() - rules.windowMs
    const decision = alertTransition(state?.alerted ?? false, current.score, rules, isFresh)
    ;(state ? updated : created).push([
      userId,
      current.score,
      JSON.stringify(current.factors),
      new Date(current.at),
      new Date(latestAt),
      decision.alerted,
      decision.alert ? now : null,
      keptFrom,
      keptText,
    ])
    if (decision.alert)
      alerts.push(newRiskAlert(userId, { score: current.score, factors: current.factors }, now))
  }
  days.sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  const stmts: Stmt[] = []
  for (const part of chunks(days, ROWS_PER_STATEMENT)) {
    const v = valuesList(part)
    stmts.push({
      sql: `insert into analytics_user_days (\`day\`, user_id, max_score) values ${v} on duplicate key update max_score = greatest(max_score, values(max_score))`,
    })
  }
  const columns =
    '(user_id, score, factors, evaluated_at, last_event_at, alerted, alerted_at, recent_from, recent)'
  for (const part of chunks(created, ROWS_PER_STATEMENT)) {
    const v = valuesList(part)
    stmts.push({ sql: `insert into analytics_user_risk ${columns} values ${v}` })
  }
  for (const part of chunks(updated, ROWS_PER_STATEMENT)) {
    const v = valuesList(part)
    stmts.push({
      sql: `insert into analytics_user_risk ${columns} values ${v} on duplicate key update score = values(score), factors = values(factors), evaluated_at = values(evaluated_at), last_event_at = values(last_event_at), alerted = values(alerted), alerted_at = coalesce(values(alerted_at), alerted_at), recent_from = values(recent_from), recent = values(recent)`,
    })
  }
  // New events too old to reach the window of the user's latest event: the score stands, the history grows.
  for (const part of chunks(historyOnly, ROWS_PER_STATEMENT)) {
    const v = valuesList(part)
    stmts.push({
      sql: `insert into analytics_user_risk (user_id, factors, last_event_at, recent_from, recent) values ${v} on duplicate key update last_event_at = greatest(last_event_at, values(last_event_at)), recent_from = values(recent_from), recent = values(recent)`,
    })
  }
  if (alerts.length > 0) {
    const v = valuesList(alerts.map((a) => [a.id, a.userId, a.data.score, JSON.stringify(a), now]))
    stmts.push({
      sql: `insert into analytics_alert_outbox (id, user_id, score, payload, created_at) values ${v}`,
    })
  }
  return { stmts, alerts }
}
