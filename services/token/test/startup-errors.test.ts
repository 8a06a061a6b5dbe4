import { createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanup, testConfig } from './helpers/app.ts'
import { freePort, ServiceProcess } from './helpers/process.ts'

// A process that cannot start says why in one line an operator can act on, and exits 1: the port it wants
// is taken, or the database is not there (named with its password masked). No stack trace, whatever the
// entry point: the token service, the analytics service, the admin CLI.

const config = testConfig('startup_errors')
const PASSWORD = 'Startup-pw-7781'
let taken: Server
let takenPort: number

beforeAll(async () => {
  takenPort = await freePort()
  taken = createServer()
  await new Promise<void>((resolve) => taken.listen(takenPort, '127.0.0.1', resolve))
})
afterAll(async () => {
  await new Promise((resolve) => taken?.close(resolve))
  await cleanup(config)
})

/** Runs `entry` with `args` to its exit; returns the exit code and every line it printed. */
async function run(entry: string, env: Record<string, string>, args: string[] = []) {
  const proc = new ServiceProcess(
    entry,
    {
      DATABASE_URL: config.DATABASE_URL,
      REDIS_URL: config.REDIS_URL,
      REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX!,
      PASSWORD_HASH_COST: '10',
      ...env,
    },
    args,
  )
  const code = await proc.exited
  const lines = proc.lines.filter((l) => l.trim() !== '')
  return { code, lines }
}

/** No frame of a stack trace, no `Error:` dump, no `node:internal` — only messages. */
function expectNoStack(lines: string[]): void {
  expect(lines.filter((l) => /^\s+at |node:internal|^\S*Error: |triggerUncaughtException/.test(l))).toEqual(
    [],
  )
}

describe('start-up failures: one line, exit 1', () => {
  it.each([
    ['token service', 'services/token/src/server.ts', 'TOKEN_PORT'],
    ['analytics', 'services/analytics/src/server.ts', 'ANALYTICS_PORT'],
  ])('%s: the port is taken', async (name, entry, portVariable) => {
    // At the default level: the process stops before it migrates or starts anything that logs.
    const { code, lines } = await run(entry, { [portVariable]: String(takenPort), LOG_LEVEL: 'info' })
    expect(code).toBe(1)
    expect(lines).toEqual([
      `${name}: port ${takenPort} on 127.0.0.1 is already in use (another instance running?)`,
    ])
    expectNoStack(lines)
  })

  it.each([
    ['token service', 'services/token/src/server.ts', []],
    ['analytics', 'services/analytics/src/server.ts', []],
    ['pnpm cli', 'services/token/src/cli.ts', ['keys:list']],
  ])('%s: the database is unreachable, named without its password', async (name, entry, args) => {
    const port = await freePort()
    const { code, lines } = await run(
      entry,
      {
        DATABASE_URL: `mysql://root:${PASSWORD}@127.0.0.1:${port}/africhain`,
        TOKEN_PORT: String(await freePort()),
        ANALYTICS_PORT: String(await freePort()),
        LOG_LEVEL: 'silent',
      },
      args,
    )
    expect(code).toBe(1)
    expect(lines).toEqual([
      `${name}: cannot reach the database at mysql://root:***@127.0.0.1:${port}/africhain (ECONNREFUSED)`,
    ])
    expect(lines.join('\n')).not.toContain(PASSWORD)
  })

  it('token service: a KEY_ENCRYPTION_SECRET other than the one the keys were sealed with', async () => {
    const port = String(await freePort())
    const first = new ServiceProcess('services/token/src/server.ts', {
      DATABASE_URL: config.DATABASE_URL,
      REDIS_URL: config.REDIS_URL,
      REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX!,
      TOKEN_PORT: port,
      LOG_LEVEL: 'silent',
      KEY_ENCRYPTION_SECRET: 'the-first-secret-of-at-least-32-chars',
    })
    await first.waitForHttp(`http://127.0.0.1:${port}/health/ready`)
    first.kill('SIGTERM')
    expect(await first.exited).toBe(0)
    const { code, lines } = await run('services/token/src/server.ts', {
      TOKEN_PORT: port,
      LOG_LEVEL: 'silent',
      KEY_ENCRYPTION_SECRET: 'another-secret-also-at-least-32-chars',
    })
    expect(code).toBe(1)
    expect(lines).toEqual([
      'token service: cannot start: a signing key cannot be decrypted with this KEY_ENCRYPTION_SECRET: it was encrypted under another one (or altered)',
    ])
  })
})
