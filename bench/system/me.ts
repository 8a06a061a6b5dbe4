import { autocannon } from '../lib/autocannon.ts'
import { cpuMeter, type Processes, perUnit } from '../lib/cpu.ts'
import { alternatePairs, median } from '../lib/paired.ts'
import { freePort, startNode, waitForHttp } from '../lib/proc.ts'
import { type BenchResult, fmt, section } from '../lib/report.ts'
import type { System } from '../lib/system.ts'
import { login, register } from '../lib/token-service.ts'

export type RunOptions = { seconds: number; pairs: number }

/**
 * `GET /auth/me` on the running system (signature, claims, the revocation check) ÷ a bare Fastify
 * hello-world in its own process, 50 connections from autocannon in a third. CPU per request is counted
 * in every process the request touches (the token service, Redis) and, for the reference, in hello's.
 */
export async function systemMe(system: System, infra: Processes, opts: RunOptions): Promise<BenchResult> {
  section('system: GET /auth/me vs bare Fastify hello-world')
  const identifier = `me-${Date.now()}@bench.example`
  const service = { url: system.tokenUrl }
  await register(service, identifier)
  const { accessToken } = await login(service, identifier, 'me-device')
  const port = await freePort()
  const hello = startNode('hello-world', 'bench/servers/hello.ts', { env: { PORT: String(port) } })
  try {
    const helloUrl = `http://127.0.0.1:${port}/`
    await waitForHttp(helloUrl, hello)
    const me = { url: `${system.tokenUrl}/auth/me`, headers: { authorization: `Bearer ${accessToken}` } }
    const check = await fetch(me.url, { headers: me.headers })
    if (check.status !== 200) throw new Error(`GET /auth/me → ${check.status}: ${await check.text()}`)
    const procs = {
      subject: { token: system.pids.token, redis: infra.redis, analytics: system.pids.analytics },
      reference: { hello: hello.proc.pid },
    }
    const run = (side: 'subject' | 'reference', seconds: number) =>
      autocannon({ ...(side === 'subject' ? me : { url: helloUrl }), connections: 50, seconds })
    await run('reference', 2)
    await run('subject', 2)
    const logBefore = system.logBytes()
    let meRequests = 0
    const { subject, reference, ratios } = await alternatePairs(opts.pairs, async (side) => {
      const meter = cpuMeter(procs[side])
      const r = await run(side, opts.seconds)
      const cpu = perUnit(meter(), r.requests + r.non2xx)
      if (side === 'subject') meRequests += r.requests + r.non2xx
      console.log(
        `  ${side === 'subject' ? '/auth/me' : 'hello   '} ${fmt(r.rps).padStart(7)} req/s  p99 ${r.p99} ms  ` +
          `CPU/req ${cpu.text}${r.non2xx || r.errors ? `  non-2xx ${r.non2xx} errors ${r.errors}` : ''}`,
      )
      return { ...r, cpuUs: cpu.total }
    })
    const logPerRequest = (system.logBytes() - logBefore) / Math.max(1, meRequests)
    const m = (xs: number[]) => median(xs)
    return {
      name: 'system: GET /auth/me',
      measured: `${fmt(m(subject.map((r) => r.rps)))} req/s`,
      reference: `${fmt(m(reference.map((r) => r.rps)))} req/s hello`,
      ratio: median(ratios),
      goal: { op: '>=', value: 0.5 },
      notes: [
        `pair ratios ${ratios.map((r) => r.toFixed(2)).join(' ')}; p99 ${m(subject.map((r) => r.p99))} ms vs ` +
          `${m(reference.map((r) => r.p99))} ms hello (median of runs, 50 connections)`,
        `CPU per request (median): ${m(subject.map((r) => r.cpuUs)).toFixed(0)} µs (token service + Redis + analytics) ` +
          `vs ${m(reference.map((r) => r.cpuUs)).toFixed(0)} µs hello; log output ${logPerRequest.toFixed(0)} bytes/request`,
      ],
    }
  } finally {
    await hello.stop()
  }
}
