import { alternatePairs } from './lib/paired.ts'
import { cpuSeconds, freePort, runNode, startNode, waitForHttp } from './lib/proc.ts'
import { type BenchResult, fmt, section } from './lib/report.ts'
import { CHAIN_DEVICE, login, pool, register, type TokenService } from './lib/token-service.ts'
import type { ChainJob, ChainResult } from './load/chains.ts'

export type RefreshOptions = { chains: number; seconds: number; warmupSeconds: number; pairs: number }

type Mode = ChainJob['mode']

/**
 * Refresh throughput with N concurrent rotation chains (login once, then each refresh uses the token the
 * previous one returned) ÷ the same chains against a bare Fastify route doing only the rotation's MySQL
 * transaction (compare-and-set + outbox insert). The chains come from bench/load/chains.ts in its own
 * process; the servers run in theirs. Chains carry on from one run to the next.
 */
export async function benchRefresh(
  service: TokenService,
  databaseUrl: string,
  opts: RefreshOptions,
): Promise<BenchResult> {
  section(`refresh: ${opts.chains} rotation chains vs bare MySQL CAS transaction`)
  const identifier = `refresh-${Date.now()}@bench.example`
  await register(service, identifier)

  const port = await freePort()
  const cas = startNode('mysql-cas reference', 'bench/servers/mysql-cas.ts', {
    env: { PORT: String(port), DATABASE_URL: databaseUrl },
  })
  const casUrl = `http://127.0.0.1:${port}`
  try {
    await waitForHttp(`${casUrl}/health`, cas)

    const topUp = async (mode: Mode, states: unknown[]): Promise<unknown[]> => {
      const missing = opts.chains - states.length
      if (missing <= 0) return states
      // At most 4 logins at once for the one account: a fifth concurrent attempt would be refused (LOGIN_LOCKED,
      // Retry-After 1) by the lockout, which counts attempts before their password is checked.
      const fresh = await pool(missing, 4, async () => {
        if (mode === 'token') return (await login(service, identifier, CHAIN_DEVICE.id)).refreshToken
        const res = await fetch(`${casUrl}/sessions`, { method: 'POST' })
        if (res.status !== 200) throw new Error(`POST /sessions → ${res.status}`)
        return res.json()
      })
      return [...states, ...fresh]
    }

    const states: Record<Mode, unknown[]> = { token: [], cas: [], oidc: [] }
    const { subject, reference, ratios, median } = await alternatePairs(opts.pairs, async (side) => {
      const mode: Mode = side === 'subject' ? 'token' : 'cas'
      states[mode] = await topUp(mode, states[mode])
      const job: ChainJob = {
        baseUrl: mode === 'token' ? service.url : casUrl,
        mode,
        states: states[mode],
        warmupMs: opts.warmupSeconds * 1000,
        durationMs: opts.seconds * 1000,
      }
      const pid = mode === 'token' ? service.child.proc.pid : cas.proc.pid
      const cpu0 = cpuSeconds(pid)
      const r = JSON.parse(
        await runNode('chain load generator', 'bench/load/chains.ts', {
          input: JSON.stringify(job),
          timeoutMs: (opts.seconds + opts.warmupSeconds + 60) * 1000,
        }),
      ) as ChainResult
      // Includes the warm-up second: CPU per request over everything this run sent.
      const cpuUs = ((cpuSeconds(pid) - cpu0) * 1e6) / (r.requests * (1 + opts.warmupSeconds / opts.seconds))
      states[mode] = r.states
      console.log(
        `  ${(mode === 'token' ? 'service' : 'mysql').padEnd(7)} ${fmt(r.rps).padStart(6)} /s  ` +
          `p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  max ${r.max.toFixed(1)} ms  server CPU ${cpuUs.toFixed(0)} µs/req` +
          (r.errors ? `  errors ${r.errors} (${r.errorSamples.join(' | ')})` : ''),
      )
      return { ...r, cpuUs }
    })
    const pooled = (rs: (ChainResult & { cpuUs: number })[]) => ({
      cpuUs: [...rs.map((r) => r.cpuUs)].sort((a, b) => a - b)[Math.floor(rs.length / 2)]!,
      rps: rs.reduce((a, r) => a + r.requests, 0) / rs.reduce((a, r) => a + r.seconds, 0),
      p99: [...rs.map((r) => r.p99)].sort((a, b) => a - b)[Math.floor(rs.length / 2)]!,
      p50: [...rs.map((r) => r.p50)].sort((a, b) => a - b)[Math.floor(rs.length / 2)]!,
      errors: rs.reduce((a, r) => a + r.errors, 0),
    })
    const s = pooled(subject)
    const ref = pooled(reference)
    const notes = [
      `p99 ${s.p99.toFixed(1)} ms vs ${ref.p99.toFixed(1)} ms mysql, p50 ${s.p50.toFixed(1)} vs ${ref.p50.toFixed(1)} ms ` +
        `(median of runs); pair ratios ${ratios.map((r) => r.toFixed(2)).join(' ')}, pooled ${(s.rps / ref.rps).toFixed(2)}`,
    ]
    notes.push(
      `app-process CPU per request ${s.cpuUs.toFixed(0)} µs vs ${ref.cpuUs.toFixed(0)} µs for the bare route (median; MariaDB not counted)`,
    )
    if (s.errors + ref.errors > 0)
      notes.push(`broken chains: service ${s.errors}, reference ${ref.errors} (re-filled between runs)`)
    return {
      name: `refresh, ${opts.chains} chains`,
      measured: `${fmt(s.rps)} refresh/s`,
      reference: `${fmt(ref.rps)} txn/s mysql`,
      ratio: median,
      goal: { op: '>=', value: 0.7 },
      notes,
    }
  } finally {
    await cas.stop()
  }
}
