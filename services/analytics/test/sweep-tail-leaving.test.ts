import { describe, expect, it } from 'vitest'
import { DEFAULT_RISK_RULES, type RiskRules } from '../src/domain/risk-rules.ts'
import { byTime, type RiskEvent } from '../src/domain/risk-score.ts'
import { decodeSweep, encodeSweep } from '../src/domain/sweep-encoding.ts'
import { advance, emptySweep, inOrder, leavingRange, type SweepState } from '../src/domain/sweep-state.ts'
import { rescoreUser } from '../src/domain/user-rescore.ts'

/**
 * A late batch (older than the user's latest event, not than the checkpoint) walks the tail's copy to
 * the user's latest event, but the stored events it is given stop at the batch's own latest event less a
 * window plus a rapid span (`leavingRange` here, storage/ingest.ts `leavingTo` in the worker). Rapid events
 * in (newMax - window + rapid, latestAt - window + rapid) are then missing from the `cut` at latestAt.
 */
const rules: RiskRules = {
  ...DEFAULT_RISK_RULES,
  windowMs: 60_000,
  rapidWindowMs: 5_000,
  rapidActivity: 3,
  suspiciousAbove: 20,
}
const W = rules.windowMs
const ev = (id: string, type: string, at: number): RiskEvent => ({
  id,
  type,
  at,
  ip: null,
  deviceKey: null,
  reason: null,
})

const CASES: { name: string; batches: RiskEvent[][] }[] = [
  {
    name: 'rapid burst early in the window, a late event 800 ms behind the latest',
    batches: [
      [
        ev('r1', 'session.refreshed', 5200),
        ev('r2', 'session.refreshed', 5300),
        ev('r3', 'session.refreshed', 5400),
        ev('r4', 'session.refreshed', 5500),
      ],
      [ev('x', 'user.locked', W + 900)],
      [ev('y', 'user.locked', W + 100)],
    ],
  },
  {
    name: 'the same with failed logins (rapid too) and a 999 ms lag',
    batches: [
      [
        ev('f1', 'login.failed', 5100),
        ev('f2', 'login.failed', 5200),
        ev('f3', 'login.failed', 5300),
        ev('f4', 'login.failed', 5400),
      ],
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
