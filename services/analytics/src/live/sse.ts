import { PassThrough } from 'node:stream'
import type { LiveEntry } from './feed.ts'

/** Bytes a client may have queued before further events are dropped (and counted) instead of buffered. */
const BUFFER_BYTES = 64 * 1024

/**
 * One client's `text/event-stream` body. Writes never grow without bound: while the client has not read
 * what is queued (the stream wants a drain), events are dropped and counted, and once it drains it gets
 * one `dropped` event saying how many it missed. `end` sends a last `end` event with the reason, then
 * closes; `onEnd` runs once, whoever ends it (the server or the client going away).
 */
export class EventStream {
  readonly body = new PassThrough({ highWaterMark: BUFFER_BYTES })
  #dropped = 0
  #ended = false
  readonly #onEnd: () => void

  constructor(onEnd: () => void, retryMs: number) {
    this.#onEnd = onEnd
    this.body.on('drain', () => {
      if (this.#dropped === 0 || this.#ended) return
      this.#write('dropped', JSON.stringify({ count: this.#dropped }))
      this.#dropped = 0
    })
    this.body.on('close', () => this.#finish())
    // The reconnect delay an EventSource should use, and a first line so proxies flush the headers.
    this.body.write(`retry: ${retryMs}\n: connected\n\n`)
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Sends one entry, or drops it (returns false) while the client is behind. */
  send(entry: LiveEntry): boolean {
    if (this.#ended) return false
    if (this.body.writableNeedDrain) {
      this.#dropped++
      return false
    }
    this.#write(entry.type, entry.json, entry.entryId)
    return true
  }

  heartbeat(): void {
    if (!this.#ended && !this.body.writableNeedDrain) this.body.write(': heartbeat\n\n')
  }

  end(reason: string): void {
    if (this.#ended) return
    this.#write('end', JSON.stringify({ reason }))
    this.body.end()
    this.#finish()
  }

  #write(event: string, data: string, id?: string): void {
    this.body.write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${data}\n\n`)
  }

  #finish(): void {
    if (this.#ended) return
    this.#ended = true
    this.#onEnd()
  }
}
