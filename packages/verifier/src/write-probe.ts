import { randomBytes } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'

type RedisClient = Redis | Cluster

/**
 * Whether Redis accepts writes right now. A Redis that refuses writes (a READONLY replica after a failover,
 * OOM under `maxmemory` with `noeviction`) still answers reads, from a copy that may lack the latest
 * tombstones and that no new revocation can reach. While it refuses, a verifier must not trust an "active"
 * it reads there: the token service answers from MySQL, other resource servers answer 503 (fail closed).
 *
 * Probes with one short-lived key of its own every `intervalMs`; `start()` waits for the first probe.
 * `refused()` lets a writer that just saw a write fail flip it at once, before the next probe.
 */
export class WriteProbe {
  #redis: RedisClient
  #key = `probe:{${randomBytes(9).toString('base64url')}}`
  #intervalMs: number
  #timer: NodeJS.Timeout | undefined
  #inFlight: Promise<void> | undefined
  #writable = true

  constructor(redis: RedisClient, intervalMs = 1_000) {
    this.#redis = redis
    this.#intervalMs = intervalMs
  }

  /** False from the first refused write until a probe write succeeds again. */
  get writable(): boolean {
    return this.#writable
  }

  refused(): void {
    this.#writable = false
  }

  async probe(): Promise<void> {
    this.#inFlight ??= this.#redis
      .set(this.#key, '1', 'PX', this.#intervalMs * 3)
      .then(
        () => {
          this.#writable = true
        },
        () => {
          this.#writable = false
        },
      )
      .finally(() => {
        this.#inFlight = undefined
      })
    return this.#inFlight
  }

  async start(): Promise<void> {
    if (this.#timer) return
    this.#timer = setInterval(() => void this.probe(), this.#intervalMs)
    await this.probe()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#inFlight
  }
}
