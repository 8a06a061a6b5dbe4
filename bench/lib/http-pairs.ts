import { autocannon, type LoadResult } from './autocannon.ts'
import { cpuMeter, type Processes, perUnit } from './cpu.ts'
import { alternatePairs, median } from './paired.ts'
import { fmt } from './report.ts'

/** One side of an autocannon comparison: the request, the connections, and whose CPU it costs. */
export type HttpSide = {
  label: string
  request: { url: string; method?: string; headers?: Record<string, string>; body?: string }
  connections: number
  procs: Processes
}

export type HttpFigures = { rps: number; p99: number; cpuUs: number; cpuText: string; bad: number }

/**
 * A short warm-up of each side, then alternating pairs of autocannon runs (a process of its own) with CPU
 * per request summed over each side's processes. Returns the pair ratios and each side's median figures.
 */
export async function httpPairs(
  subject: HttpSide,
  reference: HttpSide,
  opts: { pairs: number; seconds: number; warmupSeconds?: number },
): Promise<{ ratios: number[]; subject: HttpFigures; reference: HttpFigures }> {
  const run = (side: HttpSide, seconds: number) =>
    autocannon({ ...side.request, connections: side.connections, seconds })
  for (const side of [reference, subject]) await run(side, opts.warmupSeconds ?? 2)
  const cpu = new Map<HttpSide, { us: number; text: string }[]>([
    [subject, []],
    [reference, []],
  ])
  const result = await alternatePairs(opts.pairs, async (which) => {
    const side = which === 'subject' ? subject : reference
    const meter = cpuMeter(side.procs)
    const r: LoadResult = await run(side, opts.seconds)
    const c = perUnit(meter(), r.requests + r.non2xx)
    cpu.get(side)!.push({ us: c.total, text: c.text })
    console.log(
      `  ${side.label.padEnd(24)} ${fmt(r.rps).padStart(7)} req/s  p99 ${r.p99} ms  CPU/req ${c.text}` +
        (r.non2xx || r.errors ? `  non-2xx ${r.non2xx} errors ${r.errors}` : ''),
    )
    return r
  })
  const figures = (side: HttpSide, runs: LoadResult[]): HttpFigures => {
    const c = cpu.get(side)!
    const m = median(c.map((x) => x.us))
    return {
      rps: median(runs.map((r) => r.rps)),
      p99: median(runs.map((r) => r.p99)),
      cpuUs: m,
      cpuText: c.find((x) => x.us === m)?.text ?? `${m.toFixed(0)} µs`,
      bad: runs.reduce((a, r) => a + r.non2xx + r.errors, 0),
    }
  }
  return {
    ratios: result.ratios,
    subject: figures(subject, result.subject),
    reference: figures(reference, result.reference),
  }
}
