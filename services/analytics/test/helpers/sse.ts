import { type ClientRequest, type IncomingHttpHeaders, request } from 'node:http'

/** One server-sent event as a browser's EventSource would see it (comments kept apart). */
export type SseEvent = { event: string; id?: string; data: string }

/**
 * A streaming client of `text/event-stream` over real HTTP: collects events as they arrive and lets a
 * test wait for one (a latch with a deadline) and for the end of the stream.
 */
export class SseClient {
  readonly events: SseEvent[] = []
  comments = 0
  status = 0
  ended = false
  #waiters: (() => void)[] = []

  static open(url: string, token?: string): Promise<SseClient> {
    const client = new SseClient()
    // node:http without an agent: one connection per stream, gone when the stream is (no keep-alive pool).
    return new Promise((resolve, reject) => {
      const req = request(url, { agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} })
      client.#request = req
      req.on('error', (err) => (client.status === 0 ? reject(err) : client.#finish()))
      req.on('response', (res) => {
        client.status = res.statusCode ?? 0
        client.headers = res.headers
        res.setEncoding('utf8')
        let buffer = ''
        res.on('data', (chunk: string) => {
          if (client.status !== 200) {
            client.body += chunk
            return
          }
          buffer += chunk
          let at = buffer.indexOf('\n\n')
          while (at >= 0) {
            client.#parse(buffer.slice(0, at))
            buffer = buffer.slice(at + 2)
            at = buffer.indexOf('\n\n')
          }
          client.#wake()
        })
        res.on('close', () => client.#finish())
        if (client.status === 200) resolve(client)
        else res.on('end', () => resolve(client))
      })
      req.end()
    })
  }

  headers: IncomingHttpHeaders = {}
  body = ''
  #request: ClientRequest | undefined

  #finish(): void {
    this.ended = true
    this.#wake()
  }

  #parse(block: string): void {
    const e: SseEvent = { event: 'message', data: '' }
    let any = false
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments++
      else if (line.startsWith('event: ')) e.event = line.slice(7)
      else if (line.startsWith('id: ')) e.id = line.slice(4)
      else if (line.startsWith('data: ')) e.data = line.slice(6)
      else continue
      any ||= !line.startsWith(':')
    }
    if (any) this.events.push(e)
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }

  /** Resolves when `check` holds over what arrived so far; rejects after `timeoutMs`. */
  async until(check: (c: SseClient) => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!check(this)) {
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(`SSE: ${what} not met within ${timeoutMs} ms (${this.events.length} events)`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  of(type: string): SseEvent[] {
    return this.events.filter((e) => e.event === type)
  }

  close(): void {
    this.#request?.destroy()
  }
}
