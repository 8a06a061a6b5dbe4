import { setTimeout as sleep } from 'node:timers/promises'
import { publish } from '@africhain/bus'
import { newEvent, type SessionEvent } from '@africhain/events'
import { cpuMeter, type Processes, perUnit } from '../lib/cpu.ts'
import { alternatePairs, median } from '../lib/paired.ts'
import { type BenchResult, fmt, section } from '../lib/report.ts'
import type { System } from '../lib/system.ts'
import { groupProgress, type Probes, waitSettled } from './probes.ts'

export type IngestOptions = { users: number; history: number; perRun: number; pairs: number }

const WINDOW_MS = 24 * 3600_000
/**
 * The span of event time a run's new events cover: 3 s for the 60,000 events of a run (bench/system/index.ts),
 * which the worker takes in about 4–5 s here, so event time runs near the clock's pace. A faster pace turns
 * skew into lateness: with 500 events per user over 10 s, as this bench first had, taken in ~0.1 s, a few ms
 * of skew between the worker's two consumers became seconds of event time, more than the sweep state's tail
 * absorbs, and a late batch re-read the heavy users' whole window — a cost real traffic meets only when a
 * consumer stalls for longer than the tail (storage/ingest.ts). Runs of 20,000 events (~1.5 s) were too
 * short to measure: one background tick of either service moved a pair's ratio by 0.1.
 */
const RUN_SPAN_MS = 3_000

/** A busy user's day: refreshes from one phone, now and then a new login, all inside the risk window. */
function eventsFor(userId: string, n: number, from: number, to: number): SessionEvent[] {
  const out: SessionEvent[] = []
  const step = (to - from) / n
  for (let i = 0; i < n; i++) {
    const who = {
      userId,
      sessionId: `${userId}-s${i % 4}`,
      ip: `10.1.${i % 2}.7`,
      userAgent: 'AfriChain/1.4',
      device: { platform: 'android' as const, id: `${userId}-phone` },
    }
    const at = new Date(from + i * step)
    out.push(
      i % 50 === 0
        ? newEvent(
            {
              type: 'session.created',
              ...who,
              data: { expiresAt: new Date(at.getTime() + 7 * 86_400_000).toISOString(), rememberMe: false },
            },
            at,
          )
        : newEvent({ type: 'session.refreshed', ...who, data: { generation: 1 + i } }, at),
    )
  }
  return out
}

/** Interleaves the users' lists by time, as they would arrive on the stream. */
const interleave = (lists: SessionEvent[][]) =>
  lists.flat().sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : 0))

async function publishAll(p: Probes, system: System, events: SessionEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 1000)
    await publish(p.redis, system.eventsStream, events.slice(i, i + 1000))
}

/**
 * Flat cost of ingest: the running system's analytics worker takes `perRun` new events for `users` users
 * who already have `history` events in the risk window (and every earlier run's), ÷ the same for users with 10. Events go straight
 * onto the system's stream (the shape the relay writes); throughput is acknowledged events over the time
 * from the first XADD to the last acknowledgement. Light users are new for every run.
 */
export async function ingestFlat(system: System, infra: Processes, p: Probes, opts: IngestOptions) {
  section(`system: ingest for users with ${fmt(opts.history)}+ events in the window vs users with 10`)
  const tag = Date.now().toString(36)
  const now = Date.now()
  const heavy = Array.from({ length: opts.users }, (_, i) => `heavy-${tag}-${i}`)
  const seedStart = performance.now()
  await publishAll(
    p,
    system,
    interleave(heavy.map((u) => eventsFor(u, opts.history, now - WINDOW_MS + 3600_000, now))),
  )
  if (!(await waitSettled(p, system, 120_000)))
    throw new Error('the worker did not ingest the seeded history')
  console.log(
    `  seeded ${fmt(opts.users * opts.history)} events for ${opts.users} users in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
  )
  let clock = Date.now()
  let light = 0
  const procs = { analytics: system.pids.analytics, mariadb: infra.mariadb, redis: infra.redis }
  const perUser = Math.ceil(opts.perRun / opts.users)
  const cpu: Record<'subject' | 'reference', number[]> = { subject: [], reference: [] }
  // Every run adds its events to the heavy users' windows: they hold more before each run than the last.
  let heavyPrior = opts.history
  const { subject, reference, ratios } = await alternatePairs(opts.pairs, async (side) => {
    let users = heavy
    const prior = side === 'subject' ? heavyPrior : 10
    if (side === 'reference') {
      users = Array.from({ length: opts.users }, () => `light-${tag}-${light++}`)
      await publishAll(p, system, interleave(users.map((u) => eventsFor(u, 10, clock - 3600_000, clock))))
    } else heavyPrior += perUser
    // Both sides start from a settled system: nothing of the previous run's work is left to count.
    await waitSettled(p, system)
    const from = Math.max(clock, Date.now())
    clock = from + RUN_SPAN_MS
    const batch = interleave(users.map((u) => eventsFor(u, perUser, from, clock)))
    const { acked: before } = await groupProgress(p, system)
    const meter = cpuMeter(procs)
    const t0 = performance.now()
    await publishAll(p, system, batch)
    const deadline = Date.now() + 120_000
    while ((await groupProgress(p, system)).acked < before + batch.length && Date.now() < deadline)
      await sleep(10)
    const seconds = (performance.now() - t0) / 1000
    const c = perUnit(meter(), batch.length)
    cpu[side].push(c.total)
    const rps = batch.length / seconds
    console.log(`  ${`${fmt(prior)} prior`.padEnd(13)} ${fmt(rps).padStart(7)} events/s  CPU/event ${c.text}`)
    return { rps }
  })
  return {
    name: `system: ingest, ${fmt(opts.history)}+ events in window ÷ 10`,
    measured: `${fmt(median(subject.map((r) => r.rps)))} events/s`,
    reference: `${fmt(median(reference.map((r) => r.rps)))} events/s`,
    ratio: median(ratios),
    goal: { op: '>=', value: 0.9 },
    notes: [
      `pair ratios ${ratios.map((r) => r.toFixed(2)).join(' ')}; ${opts.users} users × ${perUser} new events per run; ` +
        `CPU per event (analytics + MariaDB + Redis, median) ${median(cpu.subject).toFixed(0)} µs vs ${median(cpu.reference).toFixed(0)} µs`,
    ],
  } satisfies BenchResult
}
