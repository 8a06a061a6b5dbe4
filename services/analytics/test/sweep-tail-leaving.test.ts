import { describe, expect, it } from 'vitest'
import { byTime, type RiskEvent } from '../src/domain/risk-score.ts'
import { decodeSweep, encodeSweep } from '../src/domain/sweep-encoding.ts'
import { advance, emptySweep, inOrder, leavingRange, type SweepState } from '../src/domain/sweep-state.ts'
import { rescoreUser } from '../src/domain/user-rescore.ts'
import { SHORT_RULES } from './helpers/rules.ts'

/**
 * A late batch (older than the user's latest event, not than the checkpoint) walks the tail's copy to
 * the user's latest event, but the stored events it is given stop at the batch's own latest event less a
 * window plus a rapid span (`leavingRange` here, storage/ingest.ts `leavingTo` in the worker). Rapid events
 * in (newMax - window + rapid, latestAt - window + rapid) are then missing from the `cut` at latestAt.
 */
const rules = SHORT_RULES
const W = rules.windowMs
const ev = (id: string, type: string, at: number): RiskEvent => ({
  id,
  type,
  at,
  ip: null,
  deviceKey: null,
  reason: null,
})
/** Four events of one type 100 ms apart from `from`: above `rapidActivity` within one rapid span. */
const burst = (prefix: string, type: string, from: number) =>
  [0, 1, 2, 3].map((i) => ev(`${prefix}${i + 1}`, type, from + i * 100))

const CASES: { name: string; batches: RiskEvent[][] }[] = [
  {
    name: 'rapid burst early in the window, a late event 800 ms behind the latest',
    batches: [
      burst('r', 'session.refreshed', 5200),
      [ev('x', 'user.locked', W + 900)],
      [ev('y', 'user.locked', W + 100)],
    ],
  },
  {
    name: 'the same with failed logins (rapid too) and a 999 ms lag',
    batches: [
      burst('f', 'login.failed', 5100),
      [ev('x', 'session.revoked', W + 999)],
      [ev('y', 'user.locked', W + 1)],
    ],
  },
]

describe('a late batch scored from the tail gets every stored event its walk to the latest needs', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const store: RiskEvent[] = []
    let state: SweepState | null = null
    for (const batch of c.batches) {
      store.push(...batch)
      const all = [...store].sort(byTime)
      const times = batch.map((e) => e.at)
      const s = state ? decodeSweep(encodeSweep(state)!)! : emptySweep()
      expect(inOrder(s, Math.min(...times))).toBe(true)
      // What the worker reads: (from, to] of leavingRange for the batch's latest event.
      const { from, to } = leavingRange(s, Math.max(...times), rules)
      const r = advance(
        s,
        all.filter((e) => e.at > from && e.at <= to),
        batch,
        rules,
      )
      state = r.sweep
      const expected = rescoreUser(all, times, Math.max(...all.map((e) => e.at)), rules)
      expect(JSON.stringify(r.current)).toBe(JSON.stringify(expected.current))
      expect(r.dayMax).toEqual(expected.dayMax)
    }
  })
})
