import { infraPids } from '../lib/cpu.ts'
import { median } from '../lib/paired.ts'
import { freePort, startNode, waitForHttp } from '../lib/proc.ts'
import { type BenchResult, fmt, section } from '../lib/report.ts'
import { startSystem } from '../lib/system.ts'
import { type BenchEnv, CHAIN_DEVICE, login, type Pair, pool, register } from '../lib/token-service.ts'
import { seedRotations, tokenRows } from './aged.ts'
import { ingestFlat } from './ingest.ts'
import { systemMe } from './me.ts'
import { openProbes, waitSettled } from './probes.ts'
import { batchCounts, type ChainSide, chainPairs, medianCpu } from './refresh.ts'

export type SystemOptions = {
  seconds: number
  pairs: number
  chains: number
  rotations: number
  /** How many accounts the chains are spread over. */
  accounts: number
  /** Which parts to run (BENCH_SYSTEM=me,refresh,aged,ingest; all by default), for tuning one at a time. */
  parts: string[]
}

/**
 * `pnpm bench system`: the whole system as `pnpm start` starts it (bench/lib/system.ts), with the bare
 * references in the same run: GET /auth/me ÷ hello-world, refresh ÷ the bare durable CAS route, CPU per
 * request across every process, and the flat-cost checks (refresh after many rotations, ingest for users
 * with a full risk window).
 */
export async function benchSystem(env: BenchEnv, opts: SystemOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = []
  const system = await startSystem(env)
  const infra = infraPids(env.databaseUrl, env.redisUrl)
  const probes = await openProbes(env)
  console.log(
    `  pids: start-all ${system.pids.startAll}, token ${system.pids.token}, analytics ${system.pids.analytics}, ` +
      `MariaDB ${infra.mariadb ?? 'n/a'}, Redis ${infra.redis ?? 'n/a'} (MariaDB and Redis are shared with other work on this machine)`,
  )
  const casPort = await freePort()
  const cas = startNode('mysql-cas reference', 'bench/servers/mysql-cas.ts', {
    env: { PORT: String(casPort), DATABASE_URL: env.databaseUrl },
  })
  try {
    if (opts.parts.includes('me')) results.push(await systemMe(system, infra, opts))
    await waitForHttp(`http://127.0.0.1:${casPort}/health`, cas)
    const everything = { ...system.pids, mariadb: infra.mariadb, redis: infra.redis }
    const settle = () => waitSettled(probes, system)
    // The chains belong to `opts.accounts` accounts, round robin (BENCH_CHAIN_ACCOUNTS; 1 = every chain on
    // one account, the worst case for per-user analytics state).
    const accountChains = async (name: string) => {
      const ids = Array.from(
        { length: Math.min(opts.accounts, opts.chains) },
        (_, i) => `${name}-${i}-${Date.now()}@bench.example`,
      )
      await pool(ids.length, 4, (i) => register({ url: system.tokenUrl }, ids[i]!))
      const sessions: Pair[] = []
      let next = 0
      // At most 4 logins at once: a fifth concurrent attempt on one account is refused by the lockout.
      const topUp = async (states: unknown[]) => {
        const fresh = await pool(opts.chains - states.length, 4, () =>
          login({ url: system.tokenUrl }, ids[next++ % ids.length]!, CHAIN_DEVICE.id),
        )
        sessions.push(...fresh)
        return [...states, ...fresh.map((p) => p.refreshToken)]
      }
      return { topUp, sessions }
    }
    const main = await accountChains('refresh')
    const service: ChainSide = {
      label: 'system',
      baseUrl: system.tokenUrl,
      mode: 'token',
      topUp: main.topUp,
      procs: everything,
      settle,
      batches: () => batchCounts(system.tokenUrl, system.analyticsUrl),
    }
    if (opts.parts.includes('refresh')) await refreshVsBare()
    if (opts.parts.includes('aged')) await agedVsFresh()
    if (opts.parts.includes('ingest'))
      results.push(
        await ingestFlat(system, infra, probes, {
          users: 4,
          history: 10_000,
          perRun: 60_000,
          pairs: opts.pairs,
        }),
      )
    return results

    async function refreshVsBare() {
      section(`system: refresh, ${opts.chains} rotation chains vs the bare durable CAS + outbox route`)
      const casSide: ChainSide = {
        label: 'bare CAS route',
        baseUrl: `http://127.0.0.1:${casPort}`,
        mode: 'cas',
        procs: { cas: cas.proc.pid, mariadb: infra.mariadb },
        topUp: async (states) => {
          const fresh = await pool(opts.chains - states.length, 8, async () => {
            const res = await fetch(`http://127.0.0.1:${casPort}/sessions`, { method: 'POST' })
            if (res.status !== 200) throw new Error(`POST /sessions → ${res.status}`)
            return res.json()
          })
          return [...states, ...fresh]
        },
      }
      const r = await chainPairs(service, casSide, {
        pairs: opts.pairs,
        seconds: opts.seconds,
        warmupSeconds: 1,
      })
      const cpuRatio = median(r.subject.cpuUs) / median(r.reference.cpuUs)
      const refreshNotes = [
        `pair ratios ${r.ratios.map((x) => x.toFixed(2)).join(' ')}; p99 ${median(r.subject.p99).toFixed(1)} ms vs ` +
          `${median(r.reference.p99).toFixed(1)} ms bare (median of runs)`,
        `CPU per refresh (median run, until relayed and ingested): ${medianCpu(r.subject)}; ` +
          `bare route: ${medianCpu(r.reference)}`,
      ]
      results.push({
        name: `system: refresh, ${opts.chains} chains`,
        measured: `${fmt(median(r.subject.rps))} refresh/s`,
        reference: `${fmt(median(r.reference.rps))} txn/s bare`,
        ratio: median(r.ratios),
        goal: { op: '>=', value: 0.7 },
        notes: refreshNotes,
      })
      results.push({
        name: 'system: CPU per refresh ÷ bare route',
        measured: `${median(r.subject.cpuUs).toFixed(0)} µs all processes`,
        reference: `${median(r.reference.cpuUs).toFixed(0)} µs bare + MariaDB`,
        ratio: cpuRatio,
        goal: { op: '<=', value: 2 },
      })
    }

    async function agedVsFresh() {
      section(
        `system: refresh after ${opts.rotations} prior rotations vs fresh sessions (${opts.chains} chains each)`,
      )
      const aged = await accountChains('aged')
      const agedTopUp = async (states: unknown[]) => {
        const before = aged.sessions.length
        await aged.topUp(states)
        const seeded: string[] = []
        for (const s of aged.sessions.slice(before))
          seeded.push(await seedRotations(probes.mysql, s.sessionId, opts.rotations))
        return [...states, ...seeded]
      }
      const fresh = await accountChains('fresh')
      const flat = await chainPairs(
        { ...service, label: `${opts.rotations} rotations`, topUp: agedTopUp },
        { ...service, label: 'fresh', topUp: fresh.topUp },
        { pairs: opts.pairs, seconds: opts.seconds, warmupSeconds: 1 },
      )
      const ids = (s: Pair[]) => s.map((p) => p.sessionId)
      const perSession = (t: { rows: number; bytes: number; rotations: number }, n: number) =>
        `${fmt(t.rows / n)} rows, ${fmt(t.bytes / n)} B after ${fmt(t.rotations / n)} rotations`
      const rowsAged = await tokenRows(probes.mysql, ids(aged.sessions))
      const rowsFresh = await tokenRows(probes.mysql, ids(fresh.sessions))
      results.push({
        name: `system: refresh after ${opts.rotations} rotations ÷ fresh`,
        measured: `${fmt(median(flat.subject.rps))} refresh/s`,
        reference: `${fmt(median(flat.reference.rps))} refresh/s fresh`,
        ratio: median(flat.ratios),
        goal: { op: '>=', value: 0.9 },
        notes: [
          `pair ratios ${flat.ratios.map((x) => x.toFixed(2)).join(' ')}; CPU per refresh ${medianCpu(flat.subject)} vs fresh ${medianCpu(flat.reference)}`,
          `refresh_tokens at the end, per session: aged ${perSession(rowsAged, aged.sessions.length)} ` +
            `(legacy rows seeded, kept until the session ends); fresh ${perSession(rowsFresh, fresh.sessions.length)}`,
        ],
      })
    }
  } finally {
    await cas.stop()
    await probes.close()
    await system.stop()
  }
}
