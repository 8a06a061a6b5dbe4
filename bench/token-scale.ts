import { autocannon } from './lib/autocannon.ts'
import { runNode } from './lib/proc.ts'
import { type BenchResult, fmt, section } from './lib/report.ts'
import {
  type BenchEnv,
  login,
  pool,
  register,
  startTokenService,
  type TokenService,
} from './lib/token-service.ts'
import type { ChainJob, ChainResult } from './load/chains.ts'

export type ScaleOptions = { seconds: number; connections: number; chains: number }

/**
 * Two token-service instances (separate processes, one database, one Redis) next to one, in the same run:
 * the same total load sent to one instance, then split over both. On this 2-core machine the load
 * generators share the cores, so this shows the overhead of a second instance (shared MySQL and Redis,
 * cross-instance races), not linear scaling; on real hosts each instance brings its own cores.
 */
export async function benchScale(
  first: TokenService,
  env: BenchEnv,
  opts: ScaleOptions,
): Promise<BenchResult[]> {
  section('two token instances vs one (verify and refresh)')
  const second = await startTokenService(env)
  try {
    const identifier = `scale-${Date.now()}@bench.example`
    await register(first, identifier)
    const { accessToken } = await login(first, identifier, 'scale-device')
    const me = (s: TokenService, connections: number) =>
      autocannon({
        url: `${s.url}/auth/me`,
        headers: { authorization: `Bearer ${accessToken}` },
        connections,
        seconds: opts.seconds,
      })
    await me(first, opts.connections) // warm-up
    await me(second, opts.connections)
    const oneMe = await me(first, opts.connections)
    const twoMe = await Promise.all([me(first, opts.connections / 2), me(second, opts.connections / 2)])
    const twoMeRps = twoMe.reduce((a, r) => a + r.rps, 0)
    console.log(`  verify: one instance ${fmt(oneMe.rps)} req/s; two instances ${fmt(twoMeRps)} req/s`)

    let n = 0
    const chains = (count: number) =>
      pool(count, 8, async () => (await login(first, identifier, `scale-chain-${n++}`)).refreshToken)
    const run = async (s: TokenService, states: unknown[]) => {
      const job: ChainJob = {
        baseUrl: s.url,
        mode: 'token',
        states,
        warmupMs: 1000,
        durationMs: opts.seconds * 1000,
      }
      return JSON.parse(
        await runNode('chain load generator', 'bench/load/chains.ts', {
          input: JSON.stringify(job),
          timeoutMs: (opts.seconds + 60) * 1000,
        }),
      ) as ChainResult
    }
    const oneRefresh = await run(first, await chains(opts.chains))
    const [a, b] = await Promise.all([
      run(first, await chains(opts.chains / 2)),
      run(second, await chains(opts.chains / 2)),
    ])
    const twoRefreshRps = a!.rps + b!.rps
    console.log(
      `  refresh (${opts.chains} chains): one instance ${fmt(oneRefresh.rps)} /s p99 ${oneRefresh.p99.toFixed(1)} ms; ` +
        `two instances ${fmt(twoRefreshRps)} /s p99 ${Math.max(a!.p99, b!.p99).toFixed(1)} ms` +
        (a!.errors + b!.errors + oneRefresh.errors
          ? `; errors ${a!.errors + b!.errors + oneRefresh.errors}`
          : ''),
    )
    // No goal in the issue: informational rows (a ratio ≥ 0.8 means a second instance costs little here).
    return [
      {
        name: 'verify, 2 instances',
        measured: `${fmt(twoMeRps)} req/s`,
        reference: `${fmt(oneMe.rps)} req/s on 1`,
        ratio: twoMeRps / oneMe.rps,
        goal: { op: '>=', value: 0.8 },
        notes: ['same total connections split over both instances; 2 cores shared with the load generators'],
      },
      {
        name: 'refresh, 2 instances',
        measured: `${fmt(twoRefreshRps)} /s`,
        reference: `${fmt(oneRefresh.rps)} /s on 1`,
        ratio: twoRefreshRps / oneRefresh.rps,
        goal: { op: '>=', value: 0.8 },
      },
    ]
  } finally {
    await second.stop()
  }
}
