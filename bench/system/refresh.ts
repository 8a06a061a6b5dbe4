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
        (r.errors ? `  errors ${r.errors} (${r.errorSamples.slice(0, 2).join(' | ')})` : ''),
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
