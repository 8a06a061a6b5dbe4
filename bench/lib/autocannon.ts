import { runNode } from './proc.ts'

const AUTOCANNON = 'node_modules/autocannon/autocannon.js'

export type LoadResult = {
  /** Successful (2xx) requests per second over the measured window. */
  rps: number
  requests: number
  seconds: number
  p50: number
  p99: number
  non2xx: number
  errors: number
}

/**
 * One autocannon run as its own process (`--json`), on loopback, bounded by `seconds`. The server under test
 * runs in another process; autocannon never shares a process with it.
 */
export async function autocannon(opts: {
  url: string
  connections: number
  seconds: number
  headers?: Record<string, string>
  method?: string
  body?: string
}): Promise<LoadResult> {
  const args = ['-j', '-n', '-c', String(opts.connections), '-d', String(opts.seconds)]
  if (opts.method) args.push('-m', opts.method)
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}=${v}`)
  if (opts.body !== undefined) args.push('-b', opts.body)
  args.push(opts.url)
  const out = await runNode('autocannon', AUTOCANNON, { args, timeoutMs: (opts.seconds + 30) * 1000 })
  const r = JSON.parse(out) as {
    duration: number
    non2xx: number
    errors: number
    timeouts: number
    '2xx': number
    latency: { p50: number; p99: number }
  }
  const ok = r['2xx']
  return {
    rps: ok / r.duration,
    requests: ok,
    seconds: r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  }
}
