import { randomBytes } from 'node:crypto'
import type { SessionEvent } from '@africhain/events'
import { markSessionRevoked } from '@africhain/verifier/state-writer'
import type { FastifyBaseLogger as Logger } from 'fastify'
import type { Kysely } from 'kysely'
import { deleteOutbox, outboxBacklog, readOutboxBatch } from '../storage/outbox.ts'
import { defineScripts, type RedisClient } from '../storage/redis-state.ts'
import type { TokenDatabase } from '../storage/tables.ts'

type Options = {
  db: Kysely<TokenDatabase>
  redis: RedisClient
  stream: string
  maxLen: number
  /** The deployment's lease key (storage/redis-keys.ts): one relay per deployment, not per Redis. */
  leaseKey: string
  log: Logger
  batchSize?: number
  pollMs?: number
  /** After a nudge, wait this long for more commits before reading the outbox (default 20 ms). */
  lingerMs?: number
  onPublished?: (count: number) => void
  onBacklog?: (count: number) => void
}

const LEASE_MS = 5_000

/**
 * Moves committed events from the MySQL outbox to the Redis stream, at least once: XADD first, delete after.
 * A crash in between republishes the batch (same event ids; consumers deduplicate). While Redis is down the
 * events wait in MySQL. One instance relays at a time (a Redis lease). It also re-applies the revocation
 * tombstone of every `session.revoked` it relays, so a revocation whose direct Redis write failed still
 * reaches the hot state.
 */
export class OutboxRelay {
  #o: Required<Omit<Options, 'onPublished' | 'onBacklog'>> & Pick<Options, 'onPublished' | 'onBacklog'>
  #holder = randomBytes(12).toString('base64url')
  #running: Promise<void> | undefined
  #abort: AbortController | undefined
  #wake: (() => void) | undefined
  #pending = false

  constructor(opts: Options) {
    this.#o = { batchSize: 500, pollMs: 250, lingerMs: 20, ...opts }
    defineScripts(opts.redis)
  }

  /** Called after a commit that wrote events: publish now instead of at the next poll. */
  nudge(): void {
    this.#pending = true
    this.#wake?.()
  }

  /** Publishes one batch if this instance holds the lease; returns how many events it published. */
  async runOnce(): Promise<number> {
    const { db, redis, stream, maxLen, batchSize, leaseKey } = this.#o
    if ((await redis.holdLease(leaseKey, this.#holder, LEASE_MS)) !== 1) return 0
    const rows = await readOutboxBatch(db, batchSize)
    if (rows.length === 0) return 0
    const events = rows.map((r) => JSON.parse(r.payload) as SessionEvent)
    const pipeline = redis.pipeline()
    for (const e of events) {
      pipeline.xadd(stream, 'MAXLEN', '~', String(maxLen), '*', 'type', e.type, 'data', JSON.stringify(e))
    }
    const results = await pipeline.exec()
    const failed = results?.find(([err]) => err)
    if (!results || failed) throw failed?.[0] ?? new Error('pipeline aborted')
    await Promise.all(
      events
        .filter((e) => e.type === 'session.revoked' && e.sessionId)
        .map((e) =>
          markSessionRevoked(
            redis,
            e.sessionId!,
            new Date((e as Extract<SessionEvent, { type: 'session.revoked' }>).data.accessTokensValidUntil),
          ),
        ),
    )
    await deleteOutbox(
      db,
      rows.map((r) => r.seq),
    )
    this.#o.onPublished?.(rows.length)
    if (rows.length === batchSize) this.#o.onBacklog?.(await outboxBacklog(db))
    else this.#o.onBacklog?.(0)
    return rows.length
  }

  start(): void {
    if (this.#running) return
    this.#abort = new AbortController()
    const signal = this.#abort.signal
    this.#running = (async () => {
      let backoff = 0
      while (!signal.aborted) {
        this.#pending = false
        try {
          const n = await this.runOnce()
          backoff = 0
          if (n === this.#o.batchSize) continue
        } catch (err) {
          backoff = Math.min(backoff * 2 || 100, 2_000)
          this.#o.log.warn(
            { err: { message: (err as Error).message } },
            'outbox relay: publish failed, will retry',
          )
        }
        if (!this.#pending || backoff > 0) await this.#sleep(backoff || this.#o.pollMs, signal)
        // Woken by a commit: linger a moment so one relay round carries the events of many requests
        // (under load, one SELECT + XADD pipeline + DELETE per batch instead of per request).
        if (this.#pending && !signal.aborted) await new Promise((r) => setTimeout(r, this.#o.lingerMs))
      }
    })()
  }

  /** Stops after the batch in flight; the rest stays in the outbox for the next start (or another instance). */
  async stop(): Promise<void> {
    if (!this.#running) return
    this.#abort?.abort()
    this.#wake?.()
    await this.#running
    this.#running = undefined
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#wake = undefined
        signal.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#wake = done
      signal.addEventListener('abort', done)
    })
  }
}
