import { cpuMeter, type Processes, perUnit } from '../lib/cpu.ts'
import { alternatePairs, median } from '../lib/paired.ts'
import { fmt } from '../lib/report.ts'
import type { ChainJob, ChainResult } from '../load/chains.ts'
import { runChains } from './probes.ts'

/** One side of a chain comparison: where its chains go, how many, and whose CPU they cost. */
export type ChainSide = {
  label: string
  baseUrl: string
  mode: ChainJob['mode']
  /** Brings the list of live chain states back to `count` (a broken chain is replaced). */
  topUp: (states: unknown[]) => Promise<unknown[]>
  procs: Processes
  /** oidc mode: the client's credentials. */
  client?: ChainJob['client']
  /** Resolves when the work a run caused has finished everywhere (relay, worker); CPU is read after it. */
  settle?: () => Promise<boolean>
  /** Running totals of the relay's and the worker's batches and events (their /metrics), read around a run. */
  batches?: () => Promise<BatchCounts>
}

export type BatchCounts = {
  relayEvents: number
  relayBatches: number
  workerEvents: number
  workerBatches: number
}

/** Sums a counter's series in a Prometheus text exposition. */
function counter(text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n'))
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').at(-1))
  return sum
}

/** The relay's (token service) and the worker's (analytics) batch counters, from their /metrics. */
export async function batchCounts(tokenUrl: string, analyticsUrl: string): Promise<BatchCounts> {
  const [token, analytics] = await Promise.all(
    [tokenUrl, analyticsUrl].map(async (u) => (await fetch(`${u}/metrics`)).text()),
  )
  return {
    relayEvents: counter(token!, 'token_events_published_total'),
    relayBatches: counter(token!, 'token_outbox_batches_total'),
    workerEvents: counter(analytics!, 'analytics_worker_events_total'),
    workerBatches: counter(analytics!, 'analytics_worker_batches_total'),
  }
}

function perBatch(before: BatchCounts, after: BatchCounts): string {
  const ratio = (events: number, batches: number) => (batches > 0 ? (events / batches).toFixed(1) : '–')
  return (
    `  events per batch: relay ${ratio(after.relayEvents - before.relayEvents, after.relayBatches - before.relayBatches)}, ` +
    `worker ${ratio(after.workerEvents - before.workerEvents, after.workerBatches - before.workerBatches)}`
  )
}

export type SideFigures = { rps: number[]; p99: number[]; cpuUs: number[]; cpuText: string[]; errors: number }

/**
 * Alternating pairs of chain runs (reference first in even pairs) with CPU per successful request summed
 * over each side's processes, warm-up included, up to the point its work has settled.
 */
export async function chainPairs(
  subject: ChainSide,
  reference: ChainSide,
  opts: { pairs: number; seconds: number; warmupSeconds: number },
): Promise<{ ratios: number[]; subject: SideFigures; reference: SideFigures }> {
  const states = new Map<ChainSide, unknown[]>([
    [subject, []],
    [reference, []],
  ])
  const figures = new Map<ChainSide, SideFigures>()
  for (const side of [subject, reference])
    figures.set(side, { rps: [], p99: [], cpuUs: [], cpuText: [], errors: 0 })
  const { ratios } = await alternatePairs(opts.pairs, async (which) => {
    const side = which === 'subject' ? subject : reference
    states.set(side, await side.topUp(states.get(side)!))
    await side.settle?.()
    const batchesBefore = await side.batches?.()
    const meter = cpuMeter(side.procs)
    const r: ChainResult = await runChains({
      baseUrl: side.baseUrl,
      mode: side.mode,
      ...(side.client ? { client: side.client } : {}),
      states: states.get(side)!,
      warmupMs: opts.warmupSeconds * 1000,
      durationMs: opts.seconds * 1000,
    })
    const settled = side.settle ? await side.settle() : true
    const cpu = perUnit(meter(), r.sent)
    const batchesAfter = await side.batches?.()
    states.set(side, r.states)
    const f = figures.get(side)!
    f.rps.push(r.rps)
    f.p99.push(r.p99)
    f.cpuUs.push(cpu.total)
    f.cpuText.push(cpu.text)
    f.errors += r.errors
    console.log(
      `  ${side.label.padEnd(14)} ${fmt(r.rps).padStart(6)} /s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  ` +
        `CPU/req ${cpu.text}${settled ? '' : ' (not settled within 60 s)'}` +
        (r.errors ? `  errors ${r.errors} (${r.errorSamples.slice(0, 2).join(' | ')})` : '') +
        (batchesBefore && batchesAfter ? perBatch(batchesBefore, batchesAfter) : ''),
    )
    return r
  })
  return { ratios, subject: figures.get(subject)!, reference: figures.get(reference)! }
}

/** The median run's per-process CPU line (the run whose total is the median). */
export function medianCpu(f: SideFigures): string {
  const m = median(f.cpuUs)
  const i = f.cpuUs.indexOf(m)
  return i >= 0 ? f.cpuText[i]! : `${m.toFixed(0)} µs`
}
