import { type ChildProcess, spawn } from 'node:child_process'
import { Redis } from 'ioredis'
import { freePort } from '../../../infra/scripts/free-port.ts'
import { waitFor } from './wait-for.ts'

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
