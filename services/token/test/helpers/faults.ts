import { connect, createServer, type Server, type Socket } from 'node:net'

export { OwnRedis } from '@africhain/testing'

/**
 * A TCP proxy in front of a real server (MariaDB): `cut()` drops every connection and refuses new ones, as a
 * network partition or a crashed database would; `restore()` lets traffic through again.
 */
export class CuttableProxy {
  port = 0
  #server: Server | undefined
  #sockets = new Set<Socket>()
  #cut = false
  readonly #target: { host: string; port: number }

  constructor(target: { host: string; port: number }) {
    this.#target = target
  }

  async start(): Promise<void> {
    this.#server = createServer((client) => {
      if (this.#cut) {
        client.destroy()
        return
      }
      const upstream = connect(this.#target.port, this.#target.host)
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('close', () => this.#sockets.delete(s))
        s.on('error', () => {
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r))
    this.port = (this.#server.address() as { port: number }).port
  }

  cut(): void {
    this.#cut = true
    for (const s of this.#sockets) s.destroy()
  }

  restore(): void {
    this.#cut = false
  }

  async stop(): Promise<void> {
    this.cut()
    await new Promise((r) => this.#server?.close(r))
  }
}
