import type { Processes } from '../lib/cpu.ts'
import { httpPairs } from '../lib/http-pairs.ts'
import { meAndHello } from '../lib/me-and-hello.ts'
import { median } from '../lib/paired.ts'
import { type BenchResult, fmt, section } from '../lib/report.ts'
import type { System } from '../lib/system.ts'

export type RunOptions = { seconds: number; pairs: number }

/**
 * `GET /auth/me` on the running system (signature, claims, the revocation check) ÷ a bare Fastify
 * hello-world in its own process, 50 connections from autocannon in a third. CPU per request is counted
 * in every process the request touches (the token service, Redis; analytics should stay idle) and, for
 * the reference, in hello's.
 */
export async function systemMe(system: System, infra: Processes, opts: RunOptions): Promise<BenchResult> {
  section('system: GET /auth/me vs bare Fastify hello-world')
  const { me, helloUrl, hello } = await meAndHello(system.tokenUrl)
  try {
    const logBefore = system.logBytes()
    const r = await httpPairs(
      {
        label: '/auth/me',
        request: me,
        connections: 50,
        procs: { token: system.pids.token, redis: infra.redis, analytics: system.pids.analytics },
      },
      { label: 'hello', request: { url: helloUrl }, connections: 50, procs: { hello: hello.proc.pid } },
      opts,
    )
    const logged = system.logBytes() - logBefore
    return {
      name: 'system: GET /auth/me',
      measured: `${fmt(r.subject.rps)} req/s`,
      reference: `${fmt(r.reference.rps)} req/s hello`,
      ratio: median(r.ratios),
      goal: { op: '>=', value: 0.5 },
      notes: [
        `pair ratios ${r.ratios.map((x) => x.toFixed(2)).join(' ')}; p99 ${r.subject.p99} ms vs ${r.reference.p99} ms hello ` +
          '(median of runs, 50 connections)',
        `CPU per request (median run): ${r.subject.cpuText} vs hello ${r.reference.cpuText}; ` +
          `log output during the pairs ${fmt(logged / 1024)} KiB`,
      ],
    }
  } finally {
    await hello.stop()
  }
}
