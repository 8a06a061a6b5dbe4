import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { Redis } from 'ioredis'
import { createConnection } from 'mysql2/promise'
import { killChildren, ROOT } from './lib/proc.ts'
import { type BenchResult, printSummary, section } from './lib/report.ts'
import { newBenchEnv, startTokenService, type TokenService } from './lib/token-service.ts'
import { benchPeers } from './peers/index.ts'
import { benchRedisMemory, cleanupPrefix } from './redis-memory.ts'
import { benchSystem } from './system/index.ts'
import { benchMe } from './token-me.ts'
import { benchRefresh } from './token-refresh.ts'
import { benchScale } from './token-scale.ts'

/**
 * `pnpm bench [me] [refresh] [scale] [memory] [analytics]`, `pnpm bench system`, `pnpm bench peers`: the
 * performance scripts (system and peers run only when named; docs/performance.md). The method: every figure
 * is a ratio against a limit measured in the same run on the same machine; load comes from separate
 * processes on loopback; every measurement is bounded in time. Goals are informational: the script exits 0
 * when one is missed (and 1 only when it could not run at all).
 *
 * Isolation: a database `africhain_bench_<random>` (dropped at the end), Redis keys under
 * `bench:<random>:` (deleted at the end), the memory figure on a private redis-server.
 *
 * Other benchmark scripts (bench/analytics-ingest.ts) run as child processes; a line
 * `BENCH_RESULT {"name","measured","reference","ratio","goal":{"op","value"}}` on their stdout joins the table.
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4)
// Even, so that each side runs first in as many pairs as it runs second: with three pairs the subject ran
// second in two of them, and anything that drifts during a part (a table or a log file growing, the
// machine's other work) leaned on one side.
const PAIRS = Number(process.env.BENCH_PAIRS ?? 4)
const all = ['me', 'refresh', 'scale', 'memory', 'analytics']
/** Named only: each starts whole systems of its own and takes a few minutes. */
const named = ['system', 'peers']
const selected = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all
for (const s of selected)
  if (![...all, ...named].includes(s))
    throw new Error(`unknown benchmark "${s}" (one of ${[...all, ...named].join(', ')})`)

const env = newBenchEnv()
const results: BenchResult[] = []
const failures: string[] = []
const remarks: string[] = []
const started = performance.now()

async function attempt(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (err) {
    console.error(`\n${name} failed: ${(err as Error).stack ?? err}`)
    failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`)
  }
}

async function cleanup(): Promise<void> {
  const redis = new Redis(env.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    const n = await cleanupPrefix(redis, env.redisPrefix)
    console.log(`cleanup: deleted ${n} Redis keys under ${env.redisPrefix}`)
  } catch (err) {
    console.error(`cleanup: Redis keys under ${env.redisPrefix} not deleted: ${(err as Error).message}`)
  } finally {
    redis.disconnect()
  }
  const url = new URL(env.databaseUrl)
  const name = url.pathname.slice(1)
  try {
    const conn = await createConnection({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username || 'root'),
      password: decodeURIComponent(url.password),
    })
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``)
    await conn.end()
    console.log(`cleanup: dropped database ${name}`)
  } catch (err) {
    console.error(`cleanup: database ${name} not dropped: ${(err as Error).message}`)
  }
}

/** Process groups of external benchmark scripts (they start workers of their own). */
const groups = new Set<number>()
const killGroup = (pgid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pgid, signal)
  } catch {
    // already gone
  }
}

process.once('SIGINT', () => {
  killChildren()
  for (const g of groups) killGroup(g, 'SIGKILL')
  void cleanup().finally(() => process.exit(130))
})

/**
 * bench/analytics-ingest.ts (written separately) as a child process in its own process group, so a timeout
 * also stops the workers it starts. Its own CLI options scale it to this run's time budget
 * (BENCH_ANALYTICS_ARGS overrides them; empty means its defaults). Its `BENCH_RESULT {...}` lines join the table.
 */
async function runExternal(script: string, args: string[], timeoutMs: number): Promise<void> {
  section(`${script} ${args.join(' ')}`)
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  if (child.pid !== undefined) groups.add(child.pid)
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk)
    buffered += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk))
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killGroup(child.pid!, 'SIGTERM')
    setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 10_000).unref()
  }, timeoutMs)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearTimeout(timer)
  // Workers it left behind (it exited early or was stopped) go with it.
  killGroup(child.pid!, 'SIGTERM')
  groups.delete(child.pid!)
  let joined = 0
  for (const line of buffered.split('\n')) {
    if (!line.startsWith('BENCH_RESULT ')) continue
    try {
      results.push(JSON.parse(line.slice('BENCH_RESULT '.length)) as BenchResult)
      joined++
    } catch {
      // not ours to judge
    }
  }
  if (joined === 0)
    remarks.push(`${script}: its figures are in its own section above (no BENCH_RESULT lines)`)
  if (timedOut)
    throw new Error(`${script} stopped after ${timeoutMs / 1000} s (its database and keys may remain)`)
  if (code !== 0) throw new Error(`${script} exited with ${code}`)
}

const load = () => `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`
console.log(
  `pnpm bench: node ${process.version}, ${load()}, ${PAIRS} pairs of ${SECONDS} s runs, database ${new URL(env.databaseUrl).pathname.slice(1)}, ` +
    `Redis prefix ${env.redisPrefix}`,
)
let service: TokenService | undefined
try {
  if (selected.includes('me') || selected.includes('refresh') || selected.includes('scale')) {
    await attempt('token service start', async () => {
      service = await startTokenService(env)
    })
  }
  if (service && selected.includes('me'))
    await attempt('GET /auth/me', async () => {
      results.push(
        await benchMe(service!, { seconds: SECONDS, warmupSeconds: 2, connections: 50, pairs: PAIRS }),
      )
    })
  if (service && selected.includes('refresh'))
    await attempt('refresh', async () => {
      results.push(
        await benchRefresh(service!, env.databaseUrl, {
          chains: 32,
          seconds: SECONDS,
          warmupSeconds: 1,
          pairs: PAIRS,
        }),
      )
    })
  if (service && selected.includes('scale'))
    await attempt('two instances', async () => {
      results.push(...(await benchScale(service!, env, { seconds: SECONDS, connections: 50, chains: 32 })))
    })
  await service?.stop()
  service = undefined
  if (selected.includes('memory'))
    await attempt('Redis memory', async () => {
      results.push(await benchRedisMemory(env, { sessions: 100_000, realLogins: 2_000 }))
    })
  if (selected.includes('system'))
    await attempt('system', async () => {
      results.push(
        ...(await benchSystem(env, {
          seconds: SECONDS,
          pairs: PAIRS,
          chains: 32,
          rotations: 5000,
          accounts: Number(process.env.BENCH_CHAIN_ACCOUNTS ?? 1),
          parts: (process.env.BENCH_SYSTEM ?? 'me,refresh,aged,ingest').split(','),
        })),
      )
    })
  if (selected.includes('peers'))
    await attempt('peers', async () => {
      results.push(...(await benchPeers(env, { seconds: SECONDS, pairs: PAIRS })))
    })
  const analytics = 'bench/analytics-ingest.ts'
  if (selected.includes('analytics') && existsSync(new URL(`../${analytics}`, import.meta.url)))
    await attempt('analytics-ingest', () => {
      const raw = process.env.BENCH_ANALYTICS_ARGS ?? '--events 200000'
      return runExternal(analytics, raw.split(/\s+/).filter(Boolean), 180_000)
    })
} finally {
  await service?.stop()
  killChildren()
  await cleanup()
}
printSummary(results, failures, remarks)
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s; ${load()} at the end`)
if (loadavg()[0]! > availableParallelism())
  console.log('note: other work was running on this machine; same-run ratios absorb part of it, not all')
process.exit(results.length === 0 && failures.length > 0 ? 1 : 0)
