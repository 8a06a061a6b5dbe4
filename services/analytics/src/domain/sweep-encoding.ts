// The stored form of a sweep state (the risk row's `sweep` column).

import type { RiskEvent } from './risk-score.ts'
import type { SweepState } from './sweep-state.ts'
import type { Key, View } from './sweep-view.ts'

type ViewJson = {
  /** Keys in last-seen order with how long before the state's time they were last seen (a few digits). */
  ips: [string, number][]
  devices: [string, number][]
  reuse: number
  failed: number
  reasons: [string, Key[]][]
  rapid: number[]
  peaks: [number, number][]
}

/** The rapid times as the first one and the steps between them: a few digits each instead of thirteen. */
const steps = (times: readonly number[]) => times.map((t, i) => (i === 0 ? t : t - times[i - 1]!))
function sums(steps: readonly number[]): number[] {
  const out = new Array<number>(steps.length)
  for (let i = 0; i < steps.length; i++) out[i] = i === 0 ? steps[0]! : out[i - 1]! + steps[i]!
  return out
}

const ages = (m: Map<string, number>, at: number): [string, number][] =>
  Array.from(m, ([key, seen]) => [key, at - seen])
const times = (list: readonly [string, number][], at: number) =>
  new Map(list.map(([key, age]) => [key, at - age]))

const viewJson = (v: View, at: number): ViewJson => ({
  ips: ages(v.ips, at),
  devices: ages(v.devices, at),
  reuse: v.reuse,
  failed: v.failed,
  reasons: [...v.reasons],
  rapid: steps(v.rapid),
  peaks: v.peaks,
})
const viewOf = (j: ViewJson, at: number): View => ({
  ...j,
  ips: times(j.ips, at),
  devices: times(j.devices, at),
  reasons: new Map(j.reasons),
  rapid: sums(j.rapid),
})

/** A tail event (sweep-state.ts `TAIL_MS`): its time as milliseconds after the checkpoint. */
type TailJson = [
  id: string,
  type: string,
  after: number,
  ip: string | null,
  device: string | null,
  reason: string | null,
]

const tailJson = (tail: readonly RiskEvent[], at: number): TailJson[] =>
  tail.map((e) => [e.id, e.type, e.at - at, e.ip, e.deviceKey, e.reason])
const tailOf = (j: TailJson[] | undefined, at: number): RiskEvent[] =>
  (j ?? []).map(([id, type, after, ip, deviceKey, reason]) => ({
    id,
    type,
    at: at + after,
    ip,
    deviceKey,
    reason,
  }))

/**
 * The encoding's version. 3: the events after the checkpoint (`tail`); a version 2 state (before the tail)
 * is one whose checkpoint is its latest event, and decodes as such. 2: IPs and devices as last-seen ages;
 * the first states (no `v`) held counts per key, which read as ages would keep keys a window too long, so
 * they decode as no state (re-scored from the event store once).
 */
const SWEEP_FORMAT = 3
const READABLE = new Set([2, 3])

/**
 * Bytes an encoded state may take: with the distinct keys capped it stays far below (a few tens of KiB
 * when a stranger filled both caps with the longest keys); a state beyond it — a flood of rapid events
 * inside one rapid span, say — is not stored, and the user's next batch re-scores from the event store.
 * Keeps every risk row, and a statement of them (storage/risk-statements.ts), well inside a packet.
 */
export const MAX_SWEEP_BYTES = 1 << 20

/**
 * JSON text for the risk row's `sweep` column; null (stored as NULL: the next batch reads the event store)
 * for a state above `MAX_SWEEP_BYTES` or one a leaving event found inconsistent.
 */
export function encodeSweep(s: SweepState): string | null {
  if (s.all.broken || s.holder.broken) return null
  const text = JSON.stringify({
    v: SWEEP_FORMAT,
    at: s.at,
    all: viewJson(s.all, s.at),
    holder: viewJson(s.holder, s.at),
    tail: tailJson(s.tail, s.at),
  })
  return text.length * 3 <= MAX_SWEEP_BYTES || Buffer.byteLength(text) <= MAX_SWEEP_BYTES ? text : null
}

/** The state of `encodeSweep`; null when the text is not one (the batch then reads the event store). */
export function decodeSweep(text: string): SweepState | null {
  try {
    const j = JSON.parse(text) as {
      v?: number
      at: number
      all: ViewJson
      holder: ViewJson
      tail?: TailJson[]
    }
    if (
      !READABLE.has(j.v as number) ||
      !Number.isFinite(j.at) ||
      !Array.isArray(j.all?.ips) ||
      !Array.isArray(j.holder?.ips)
    )
      return null
    return { at: j.at, all: viewOf(j.all, j.at), holder: viewOf(j.holder, j.at), tail: tailOf(j.tail, j.at) }
  } catch {
    return null
  }
}
