import type { RiskRules } from './risk-rules.ts'
import { isRapid, type RiskEvent, type RiskScore, scoreTally } from './risk-score.ts'

/**
 * `scoreAt(sorted, t)` for many points `t` in one pass: the window `(t - windowMs, t]` slides forward and
 * its tally (distinct IPs and devices, counts per kind, the rapid-activity maximum) is kept up to date as
 * events enter and leave, so a batch costs O(history + points) instead of O(history × points). Re-scoring
 * a busy user — thousands of events in the window, hundreds of new ones per batch — stayed quadratic
 * before. The result is the same as `scoreAt` at each point (tested against it): same factors, same
 * details, `byReason` in the order the reasons first appear in the window.
 *
 * `sorted` is in `byTime` order (an id seen twice counts once, as in `scoreEvents`); `points` ascending.
 */
export function scoresAt(
  sorted: readonly RiskEvent[],
  points: readonly number[],
  rules: RiskRules,
): RiskScore[] {
  const seen = new Set<string>()
  const ev: RiskEvent[] = []
  for (const e of sorted) {
    if (seen.has(e.id)) continue
    seen.add(e.id)
    ev.push(e)
  }
  // Rapid events over the whole list: for each, how many rapid events end at it inside one rapid span
  // (`span[j]`, from `start[j]`, the first that is less than a span earlier). Inside a window starting at
  // rapid index `rLo` the count ending at j is j - max(start[j], rLo) + 1.
  const rapidAt = ev.filter(isRapid).map((e) => e.at)
  const start = new Array<number>(rapidAt.length)
  const span = new Array<number>(rapidAt.length)
  for (let j = 0, k = 0; j < rapidAt.length; j++) {
    while (rapidAt[j]! - rapidAt[k]! >= rules.rapidWindowMs) k++
    start[j] = k
    span[j] = j - k + 1
  }
  const ips = new Map<string, number>()
  const devices = new Map<string, number>()
  const reasons = new Map<string, number[]>()
  const count = { revocations: 0, reuse: 0, failed: 0 }
  let lo = 0
  let hi = 0
  let rLo = 0
  let rHi = 0
  // Rapid ends whose span lies inside the window (start ≥ rLo): [e0, rHi); a deque of them with spans
  // decreasing from the front, so its front is their maximum.
  let e0 = 0
  let pushed = 0
  const deque: number[] = []
  let head = 0

  const bump = (m: Map<string, number>, key: string | null, by: number) => {
    if (!key) return
    const n = (m.get(key) ?? 0) + by
    if (n === 0) m.delete(key)
    else m.set(key, n)
  }
  const apply = (e: RiskEvent, index: number, by: 1 | -1) => {
    bump(ips, e.ip, by)
    bump(devices, e.deviceKey, by)
    if (isRapid(e)) by === 1 ? rHi++ : rLo++
    if (e.type === 'login.failed') count.failed += by
    else if (e.type === 'token.reuse_detected') count.reuse += by
    else if (e.type === 'session.revoked' && e.reason !== 'logout') {
      count.revocations += by
      const reason = e.reason ?? 'unknown'
      const list = reasons.get(reason) ?? []
      if (by === 1) list.push(index)
      else list.shift()
      if (list.length === 0) reasons.delete(reason)
      else reasons.set(reason, list)
    }
  }

  const out: RiskScore[] = []
  for (const t of points) {
    while (hi < ev.length && ev[hi]!.at <= t) apply(ev[hi]!, hi++, 1)
    while (lo < hi && ev[lo]!.at <= t - rules.windowMs) apply(ev[lo]!, lo++, -1)
    while (e0 < rHi && start[e0]! < rLo) e0++
    for (; pushed < rHi; pushed++) {
      if (pushed < e0) continue
      while (deque.length > head && span[deque[deque.length - 1]!]! <= span[pushed]!) deque.pop()
      deque.push(pushed)
    }
    while (deque.length > head && deque[head]! < e0) head++
    const truncated = Math.max(0, Math.min(e0, rHi) - rLo)
    const rapid = Math.max(truncated, deque.length > head ? span[deque[head]!]! : 0)
    const byReason: Record<string, number> = {}
    for (const [reason, list] of [...reasons].sort((a, b) => a[1][0]! - b[1][0]!))
      byReason[reason] = list.length
    out.push(
      scoreTally({ distinctIps: ips.size, distinctDevices: devices.size, rapid, byReason, ...count }, rules),
    )
  }
  return out
}
