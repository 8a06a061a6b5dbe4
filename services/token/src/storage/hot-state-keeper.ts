import { randomBytes } from 'node:crypto'
import { CLOCK_MARGIN_MS, markSessionActive, markSessionRevoked } from '@africhain/verifier/state-writer'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { DeploymentKeys } from './redis-keys.ts'
import type { RedisClient } from './redis-state.ts'
import { defineScripts } from './redis-state.ts'
import type { TokenDatabase } from './tables.ts'

const PAGE = 1000

type RoundResult = { rebuilt: number } | { replayed: number } | undefined

type Options = {
  db: Kysely<TokenDatabase>
  redis: RedisClient
  keys: DeploymentKeys
  /** Access-token lifetime in seconds: how far back a revocation still matters. */
  accessTtl: number
  intervalMs: number
  log: FastifyBaseLogger
}

/**
 * Keeps Redis's copy of session state honest with MySQL, whatever happened to Redis:
 * - lost everything (the sentinel is gone): a full rebuild, every live session and every recent tombstone;
 * - went back in time (restored from an older snapshot, failed over to a lagging replica; the sentinel
 *   survives those): every `intervalMs` the tombstones of the sessions revoked within the last access-token
 *   lifetime are written again, so a revocation that answered 204 wins again within seconds. That read is
 *   a range on `sessions_revoked_idx` (migration 003); its size is bounded by the revocations of one
 *   access-token lifetime, whatever the number of sessions.
 * One instance of a deployment works per round: a lease taken at the round's start and renewed every
 * `intervalMs` while it runs, so a slow rebuild keeps it (a lost lease ends the round at the next page).
 * Rounds never overlap: the timer schedules the next one when the last has finished, and a `runOnce()`
 * while one is in flight joins it instead of starting another scan.
 */
export class HotStateKeeper {
  #o: Options
  #holder = randomBytes(12).toString('base64url')
  #timer: NodeJS.Timeout | undefined
  #scheduled: Promise<void> | undefined
  #inFlight: Promise<RoundResult> | undefined
  #stopped = true

  constructor(opts: Options) {
    this.#o = opts
    defineScripts(opts.redis)
  }

  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#schedule(0)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#scheduled
    await this.#inFlight?.catch(() => {})
  }

  /**
   * One round: rebuild when Redis lost the state, else replay recent revocations. Returns what it did
   * (undefined: another instance holds the lease, or took it during the round). A call while a round is in
   * flight returns that round.
   */
  runOnce(): Promise<RoundResult> {
    this.#inFlight ??= this.#round().finally(() => {
      this.#inFlight = undefined
    })
    return this.#inFlight
  }

  async #round(): Promise<RoundResult> {
    const { redis, keys, intervalMs } = this.#o
    const hold = async () => (await redis.holdLease(keys.hotStateLease, this.#holder, intervalMs * 3)) === 1
    if (!(await hold())) return undefined
    const lease = { held: true }
    const renew = setInterval(() => {
      hold().then(
        (held) => {
          lease.held &&= held
        },
        () => {}, // Redis is failing: the round's own commands fail too
      )
    }, intervalMs)
    try {
      if ((await redis.exists(keys.rebuiltSentinel)) === 0) {
        const started = new Date()
        const rebuilt = (await this.#replayRevocations(lease)) + (await this.#markLiveSessions(lease))
        if (!lease.held) return undefined
        await redis.set(keys.rebuiltSentinel, started.toISOString())
        this.#o.log.info({ sessions: rebuilt }, 'rebuilt hot session state from MySQL')
        return { rebuilt }
      }
      const replayed = await this.#replayRevocations(lease)
      return lease.held ? { replayed } : undefined
    } finally {
      clearInterval(renew)
    }
  }

  #schedule(ms: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#scheduled = this.runOnce()
        .then(
          () => {},
          (err) => this.#o.log.warn({ err: { message: (err as Error).message } }, 'hot state round failed'),
        )
        .finally(() => this.#schedule(this.#o.intervalMs))
    }, ms)
  }

  /** Tombstones of every session revoked within the last access-token lifetime (keyset pages). */
  async #replayRevocations(lease: { held: boolean }): Promise<number> {
    const { db, redis, accessTtl } = this.#o
    // Revocations as old as the last token's lifetime plus the clock margin: a revoking instance whose clock
    // was behind wrote an earlier `revoked_at` than the tokens' issuers would have.
    const since = new Date(Date.now() - accessTtl * 1000 - CLOCK_MARGIN_MS)
    let after = { at: since, id: '' }
    let written = 0
    for (;;) {
      const rows = await db
        .selectFrom('sessions')
        .select(['id', 'expires_at', 'revoked_at'])
        .where((eb) =>
          eb.or([
            eb('revoked_at', '>', after.at),
            eb.and([eb('revoked_at', '=', after.at), eb('id', '>', after.id)]),
          ]),
        )
        .orderBy('revoked_at')
        .orderBy('id')
        .limit(PAGE)
        .execute()
      await Promise.all(
        rows.map((r) =>
          markSessionRevoked(
            redis,
            r.id,
            new Date(Math.min(r.expires_at.getTime(), r.revoked_at!.getTime() + accessTtl * 1000)),
          ),
        ),
      )
      written += rows.length
      if (rows.length < PAGE || !lease.held) return written
      const last = rows[rows.length - 1]!
      after = { at: last.revoked_at!, id: last.id }
    }
  }

  /** Every live session marked active (NX: a tombstone written meanwhile wins). */
  async #markLiveSessions(lease: { held: boolean }): Promise<number> {
    const { db, redis } = this.#o
    const now = new Date()
    let written = 0
    let after = ''
    for (;;) {
      const rows = await db
        .selectFrom('sessions')
        .select(['id', 'user_id', 'expires_at'])
        .where('id', '>', after)
        .where('expires_at', '>', now)
        .where('revoked_at', 'is', null)
        .orderBy('id')
        .limit(PAGE)
        .execute()
      await Promise.all(rows.map((r) => markSessionActive(redis, r.id, r.user_id, r.expires_at)))
      written += rows.length
      if (rows.length < PAGE || !lease.held) return written
      after = rows[rows.length - 1]!.id
    }
  }
}
