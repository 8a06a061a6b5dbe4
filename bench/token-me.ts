import { autocannon } from './lib/autocannon.ts'
import { meAndHello } from './lib/me-and-hello.ts'
import { alternatePairs } from './lib/paired.ts'
import { cpuSeconds } from './lib/proc.ts'
import { type BenchResult, fmt, section } from './lib/report.ts'
import type { TokenService } from './lib/token-service.ts'

export type MeOptions = { seconds: number; warmupSeconds: number; connections: number; pairs: number }

/**
 * `GET /auth/me` with one valid access token (signature, claims, one Redis GET for revocation) ÷ a bare
 * Fastify hello-world in its own process. autocannon runs as a third process.
 */
export async function benchMe(service: TokenService, opts: MeOptions): Promise<BenchResult> {
  section('GET /auth/me vs bare Fastify hello-world')
  const { me, helloUrl, hello } = await meAndHello(service.url)
  try {
    const run = (side: 'subject' | 'reference', seconds: number) =>
      autocannon({ ...(side === 'subject' ? me : { url: helloUrl }), connections: opts.connections, seconds })
    // Warm-up (JIT, connection pools, the verifier's cache), not measured.
    await run('reference', opts.warmupSeconds)
    await run('subject', opts.warmupSeconds)

    const pid = (side: 'subject' | 'reference') =>
      side === 'subject' ? service.child.proc.pid : hello.proc.pid
    const { subject, reference, ratios, median } = await alternatePairs(opts.pairs, async (side) => {
      const cpu0 = cpuSeconds(pid(side))
      const r = await run(side, opts.seconds)
      const cpuUs = ((cpuSeconds(pid(side)) - cpu0) * 1e6) / (r.requests + r.non2xx)
      console.log(
        `  ${side === 'subject' ? '/auth/me' : 'hello   '} ${fmt(r.rps).padStart(7)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms` +
          `  server CPU ${cpuUs.toFixed(0)} µs/req` +
          (r.non2xx || r.errors ? `  non-2xx ${r.non2xx} errors ${r.errors}` : ''),
      )
      return { ...r, cpuUs }
    })
    const pooled = (rs: typeof subject) => ({
      cpuUs: [...rs.map((r) => r.cpuUs)].sort((a, b) => a - b)[Math.floor(rs.length / 2)]!,
      rps: rs.reduce((a, r) => a + r.requests, 0) / rs.reduce((a, r) => a + r.seconds, 0),
      p99: [...rs.map((r) => r.p99)].sort((a, b) => a - b)[Math.floor(rs.length / 2)]!,
      bad: rs.reduce((a, r) => a + r.non2xx + r.errors, 0),
    })
    const s = pooled(subject)
    const ref = pooled(reference)
    const notes = [
      `p99 ${s.p99} ms vs ${ref.p99} ms hello (median of runs; ${opts.connections} connections); ` +
        `pair ratios ${ratios.map((r) => r.toFixed(2)).join(' ')}, pooled ${(s.rps / ref.rps).toFixed(2)}`,
    ]
    notes.push(
      `server CPU per request ${s.cpuUs.toFixed(0)} µs vs ${ref.cpuUs.toFixed(0)} µs hello (median): ` +
        `CPU ratio ${(ref.cpuUs / s.cpuUs).toFixed(2)}, the throughput ratio a saturated core would give`,
    )
    if (s.bad > 0) notes.push(`${s.bad} non-2xx/errored requests on /auth/me (the ratio counts 2xx only)`)
    return {
      name: 'GET /auth/me',
      measured: `${fmt(s.rps)} req/s`,
      reference: `${fmt(ref.rps)} req/s hello`,
      ratio: median,
      goal: { op: '>=', value: 0.5 },
      notes,
    }
  } finally {
    await hello.stop()
  }
}
