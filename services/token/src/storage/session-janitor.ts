import type { RelayLease } from '@africhain/bus'
import { CLOCK_MARGIN_MS } from '@africhain/verifier/state-writer'
import type { FastifyBaseLogger } from 'fastify'
import { type Kysely, sql } from 'kysely'
import type { TokenDatabase } from './tables.ts'

/** What one batch deleted (the plugin counts it in metrics; tests check the bounds). */
export type JanitorBatch = { sessions: number; refreshTokens: number }
export type JanitorRound = JanitorBatch & { batches: number }

export type JanitorOptions = {
  db: Kysely<TokenDatabase>
  /** One janitor per deployment: held (taken or extended) before every batch. */
  lease: RelayLease
  /** Seconds an ended session is kept after its end (SESSION_RETENTION). */
  retention: number
  /** Access-token lifetime in seconds: a floor under the retention (see `cutoff`). */
  accessTtl: number
  intervalMs: number
  log: FastifyBaseLogger
  /** Sessions per batch, and refresh-token rows per DELETE statement (defaults 100 and 1,000). */
  batchSize?: number
  tokenRowsPerStatement?: number
  /** Batches per round; a larger backlog goes on at the next round (default 50). */
  maxBatches?: number
  onBatch?: (batch: JanitorBatch) => void
}

type Ended = 'expires_at' | 'revoked_at'

/**
 * Deletes sessions that ended (expired, or revoked) longer than the retention ago, with their refresh-token
 * rows: nothing the rules need is lost. A session past its end refreshes nothing (its tokens answer
 * TOKEN_EXPIRED or TOKEN_REVOKED while the row exists, and TOKEN_INVALID — "an unknown refresh token" — once
 * it is gone), and the hot-state keeper reads only revocations younger than one access-token lifetime, which
 * the floor in `cutoff` keeps. Without this, every session ever opened and every token ever rotated stays.
 *
 * Work is in small batches, each a few bounded statements on indexes (sessions by `expires_at` on
 * `sessions_expiry_idx`, by `revoked_at` on `sessions_revoked_idx`, their tokens on
 * `refresh_tokens_session_idx`), so no transaction holds many locks or a long undo log, and a batch never
 * waits on a live session: a session past `cutoff` can no longer be rotated or revoked. Tokens go first and
 * the session row last, so a batch cut short leaves its sessions to be found again by the next one.
 */
export class SessionJanitor {
  #o: Required<Omit<JanitorOptions, 'onBatch'>> & Pick<JanitorOptions, 'onBatch'>
  #timer: NodeJS.Timeout | undefined
  #inFlight: Promise<JanitorRound | undefined> | undefined
  #stopped = true
  #closing = false

  constructor(opts: JanitorOptions) {
    this.#o = { batchSize: 100, tokenRowsPerStatement: 1_000, maxBatches: 50, ...opts }
  }

  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#closing = false
    this.#schedule(0)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#closing = true // a round in flight ends after its current batch
    clearTimeout(this.#timer)
    await this.#inFlight?.catch(() => {})
  }

  /** One round (joined if one is in flight); undefined when another instance holds the lease. */
  runOnce(): Promise<JanitorRound | undefined> {
    this.#inFlight ??= this.#round().finally(() => {
      this.#inFlight = undefined
    })
    return this.#inFlight
  }

  /**
   * Sessions that ended before this are deleted. Never later than one access-token lifetime (plus the
   * clock margin) ago, whatever the retention: a revoked session's row is what re-applies its revocation
   * to a Redis that went back in time while its access tokens can still be presented.
   */
  cutoff(now = Date.now()): Date {
    const keepMs = Math.max(this.#o.retention, this.#o.accessTtl) * 1000 + CLOCK_MARGIN_MS
    return new Date(now - keepMs)
  }

  async #round(): Promise<JanitorRound | undefined> {
    const round: JanitorRound = { sessions: 0, refreshTokens: 0, batches: 0 }
    // On the database's clock, which every instance shares (as the grace window is): an instance whose own
    // clock ran ahead by more than the retention would take live sessions for long-ended ones.
    const cutoff = this.cutoff(await this.#databaseNow())
    // Expired first (the common case), then revoked before their expiry.
    for (const column of ['expires_at', 'revoked_at'] as const) {
      for (;;) {
        if (this.#closing || round.batches >= this.#o.maxBatches) break
        if (!(await this.#o.lease.hold())) return round.batches > 0 ? round : undefined
        const batch = await this.#batch(column, cutoff)
        if (batch.sessions === 0) break
        round.batches++
        round.sessions += batch.sessions
        round.refreshTokens += batch.refreshTokens
        this.#o.onBatch?.(batch)
        if (batch.sessions < this.#o.batchSize) break
      }
    }
    if (round.sessions > 0) this.#o.log.info(round, 'deleted sessions ended before the retention')
    return round
  }

  async #databaseNow(): Promise<number> {
    const { rows } = await sql<{ now: Date }>`select utc_timestamp(3) as now`.execute(this.#o.db)
    return rows[0]!.now.getTime()
  }

  async #batch(column: Ended, cutoff: Date): Promise<JanitorBatch> {
    const { db, batchSize, tokenRowsPerStatement } = this.#o
    const rows = await db
      .selectFrom('sessions')
      .select('id')
      .where(column, '<', cutoff)
      .orderBy(column)
      .limit(batchSize)
      .execute()
    if (rows.length === 0) return { sessions: 0, refreshTokens: 0 }
    const ids = rows.map((r) => r.id)
    let refreshTokens = 0
    for (;;) {
      // DELETE … LIMIT (MySQL, MariaDB, TiDB): each statement commits at most this many rows.
      const { numAffectedRows } = await sql`delete from refresh_tokens where session_id in (${sql.join(ids)})
        limit ${tokenRowsPerStatement}`.execute(db)
      const n = Number(numAffectedRows ?? 0)
      refreshTokens += n
      if (n < tokenRowsPerStatement) break
    }
    // The condition again: only what is still past the cutoff (it always is; the check costs nothing).
    const deleted = await db
      .deleteFrom('sessions')
      .where('id', 'in', ids)
      .where(column, '<', cutoff)
      .executeTakeFirst()
    return { sessions: Number(deleted.numDeletedRows), refreshTokens }
  }

  #schedule(ms: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.runOnce()
        .catch((err) =>
          this.#o.log.warn({ err: { message: (err as Error).message } }, 'janitor round failed'),
        )
        .finally(() => this.#schedule(this.#o.intervalMs))
    }, ms)
  }
}
