import { decodeAlert, decodeEvent } from '@africhain/events'
import type { Redis } from 'ioredis'

/** A decoded entry of the events or alerts stream, as the live feed hands it to its listeners. */
export type LiveEntry = {
  /** The stream entry id (`1733000000000-0`). */
  entryId: string
  type: string
  userId: string | undefined
  sessionId: string | undefined
  /** The event envelope, JSON (re-encoded: one line, whatever the producer sent). */
  json: string
}

export type LiveFeedOptions = {
  /** Commands client of the process; each stream's blocking read gets its own `duplicate()`. */
  redis: Redis
  eventsStream: string
  alertsStream: string
  blockMs?: number
  onError?: (err: unknown) => void
}

type Listener = (entry: LiveEntry) => void

/**
 * One blocking XREAD per stream per process, fanned out to every listener in memory: N open live streams
 * cost two Redis connections, not N. Reading starts at the stream's end when the first listener
 * subscribes (the feed is live, not a replay) and continues from the last id seen, so nothing published
 * between two reads is skipped. Not a consumer group: every API process sees every entry, and nothing is
 * acknowledged or left pending.
 */
export class LiveFeed {
  readonly #opts: LiveFeedOptions
  readonly #listeners = new Set<Listener>()
  readonly #connections: Redis[] = []
  #loops: Promise<void>[] | undefined
  #started: Promise<void> = Promise.resolve()
  #stopped = false

  constructor(opts: LiveFeedOptions) {
    this.#opts = opts
  }

  get listeners(): number {
    return this.#listeners.size
  }

  /**
   * Adds a listener (starting the readers on first use). Resolves with its unsubscribe once both readers
   * know where the streams end: every entry added after that reaches the listener.
   */
  async subscribe(listener: Listener): Promise<() => void> {
    this.#listeners.add(listener)
    if (!this.#loops && !this.#stopped) {
      const { eventsStream, alertsStream } = this.#opts
      const starts: (() => void)[] = []
      const started = [0, 1].map(() => new Promise<void>((resolve) => starts.push(resolve)))
      this.#loops = [this.#read(eventsStream, false, starts[0]!), this.#read(alertsStream, true, starts[1]!)]
      this.#started = Promise.all(started).then(() => {})
    }
    await this.#started
    return () => void this.#listeners.delete(listener)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    for (const c of this.#connections) c.disconnect()
    await Promise.all(this.#loops ?? [])
  }

  async #read(stream: string, alerts: boolean, started: () => void): Promise<void> {
    const { redis, blockMs = 1000 } = this.#opts
    const parentTimeout = redis.options.commandTimeout
    // Named after its stream: `CLIENT LIST` shows one per process and stream, however many clients listen.
    const conn = redis.duplicate({
      connectionName: `live:${stream}`,
      ...(parentTimeout ? { commandTimeout: parentTimeout + blockMs } : {}),
    })
    conn.on('error', () => {})
    this.#connections.push(conn)
    if (this.#stopped) conn.disconnect()
    if (conn.status === 'wait') await conn.connect().catch(() => {})
    let last: string | undefined
    let failures = 0
    // Stopped (or never connected while stopping): whoever waits for the start is let go.
    if (this.#stopped) started()
    while (!this.#stopped) {
      try {
        // Where "now" is: the newest entry (0-0 for an empty or missing stream).
        last ??=
          ((await conn.xrevrange(stream, '+', '-', 'COUNT', 1)) as [string, string[]][])[0]?.[0] ?? '0-0'
        started()
        const reply = (await conn.xread('COUNT', 500, 'BLOCK', blockMs, 'STREAMS', stream, last)) as
          | [string, [string, string[]][]][]
          | null
        failures = 0
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          last = id
          this.#emit(id, fields, alerts)
        }
      } catch (err) {
        if (this.#stopped) break
        this.#opts.onError?.(err)
        // Redis down at subscribe: the client still gets its stream (and heartbeats) while reads retry.
        if (last === undefined) started()
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** failures++, 5000)))
      }
    }
  }

  #emit(entryId: string, fields: string[], alerts: boolean): void {
    const decoded = alerts ? decodeAlert(fields) : decodeEvent(fields)
    if (!decoded.ok) return
    const e = decoded.event
    const entry: LiveEntry = {
      entryId,
      type: e.type,
      userId: e.userId,
      sessionId: 'sessionId' in e ? e.sessionId : undefined,
      json: JSON.stringify(e),
    }
    for (const listener of this.#listeners) listener(entry)
  }
}
