import { type ChildProcess, spawn } from 'node:child_process'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { waitFor } from '@africhain/testing'
import { Redis } from 'ioredis'
import { freePort } from './process.ts'

/**
 * A redis-server of the test's own on a spare loopback port, so destructive tests (FLUSHALL, kill, restart)
 * never touch what parallel test files use. No persistence: a restart loses everything, like production's
 * worst case.
 */
export class OwnRedis {
  port = 0
  #proc: ChildProcess | undefined
  /** With a folder, `SAVE` writes a snapshot there and a restart loads it: Redis going back in time. */
  readonly #dir: string | undefined

  constructor(opts: { dir?: string } = {}) {
    this.#dir = opts.dir
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort()
    this.#proc = spawn(
      'redis-server',
      [
        ...['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        ...(this.#dir ? ['--dir', this.#dir, '--dbfilename', 'dump.rdb'] : []),
      ],
      {
        stdio: 'ignore',
      },
    )
    await waitFor(async () => {
      const probe = new Redis(this.url, {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      })
      // Refused until the server listens: connect() rejects with it and waitFor retries. Without a listener
      // ioredis would also print every refusal as an "Unhandled error event" in the test output.
      probe.on('error', () => {})
      try {
        await probe.connect()
        return (await probe.ping()) === 'PONG'
      } finally {
        probe.disconnect()
      }
    }, 'redis-server to start')
  }

  async stop(): Promise<void> {
    const proc = this.#proc
    if (!proc || proc.exitCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGKILL')
    await exited
  }
}

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
