import { afterAll, describe, expect, it } from 'vitest'
import { cleanup, testConfig } from './helpers/app.ts'
import { freePort, ServiceProcess } from './helpers/process.ts'

// `pnpm start` (infra/scripts/start-all.ts): ready means its own children said so. A second one, started
// while the first runs, meets the first one's services on the ports and must fail with its child's own
// line, not report the old instance as started. SIGINT stops everything and exits 0.

const config = testConfig('start_all')
afterAll(() => cleanup(config))

const BANNER = 'AfriChain Sessions is running:'

describe('pnpm start', () => {
  it('starts both services, prints the URLs, refuses a second copy and stops cleanly', async () => {
    const tokenPort = await freePort()
    const analyticsPort = await freePort()
    const env = {
      DATABASE_URL: config.DATABASE_URL,
      REDIS_URL: config.REDIS_URL,
      REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX!,
      TOKEN_PORT: String(tokenPort),
      ANALYTICS_PORT: String(analyticsPort),
      PASSWORD_HASH_COST: '10',
      LOG_LEVEL: 'warn',
    }
    const first = new ServiceProcess('infra/scripts/start-all.ts', env)
    try {
      await first.log
        .seen((l) => l === BANNER, 'the banner', { timeoutMs: 60_000 })
        .catch((err) => {
          throw new Error(`${err.message}\n${first.lines.join('\n')}`)
        })
      const banner = first.lines.join('\n')
      for (const url of [
        `http://127.0.0.1:${tokenPort}/docs`,
        `http://127.0.0.1:${analyticsPort}/docs`,
        `http://127.0.0.1:${analyticsPort}/console`,
      ])
        expect(banner).toContain(url)
      expect((await fetch(`http://127.0.0.1:${tokenPort}/health/ready`)).status).toBe(200)
      expect((await fetch(`http://127.0.0.1:${analyticsPort}/health/ready`)).status).toBe(200)

      const second = new ServiceProcess('infra/scripts/start-all.ts', env)
      expect(await second.exited).toBe(1)
      // The child's line, then what start-all did about it: nothing else (no half-started service's logs).
      expect(second.lines.filter((l) => l.trim() !== '')).toEqual([
        `token service: port ${tokenPort} on 127.0.0.1 is already in use (another instance running?)`,
        'start: token did not start; nothing is left running',
      ])
      // The first one is untouched by the attempt.
      expect((await fetch(`http://127.0.0.1:${tokenPort}/health/live`)).status).toBe(200)

      first.kill('SIGINT')
      expect(await first.exited).toBe(0)
      await expect(fetch(`http://127.0.0.1:${tokenPort}/health/live`)).rejects.toThrow()
      await expect(fetch(`http://127.0.0.1:${analyticsPort}/health/live`)).rejects.toThrow()
    } finally {
      // On a failure above: start-all stops its children on SIGTERM.
      if (first.proc.exitCode === null) {
        first.kill('SIGTERM')
        await first.exited
      }
    }
  }, 90_000)
})
