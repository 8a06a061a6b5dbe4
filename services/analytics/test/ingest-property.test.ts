import type { SessionEvent } from '@africhain/events'
import fc from 'fast-check'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  assessUser,
  dailyReport,
  flaggedUsers,
  type ReadDeps,
  systemAnalytics,
  userAnalytics,
} from '../src/domain/analytics.ts'
import { DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import { addDays, utcDay } from '../src/domain/time.ts'
import { createAnalyticsStore } from '../src/storage/analytics-store.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import {
  failedLogin,
  login,
  mismatch,
  refresh,
  registered,
  reuse,
  revoke,
  type Who,
} from './helpers/events.ts'

/**
 * The contract's invariant, end to end through the real storage: whatever the delivery order, batching,
 * duplication and worker concurrency, the stored scores, per-day scores, counters, sessions and every
 * read built on them equal those of a clean, ordered, single-worker run.
 */
const T = Date.parse('2026-11-26T20:00:00.000Z')
const SPAN = 30 * 3600_000
const NOW = new Date(T + SPAN - 1800_000) // inside the activity: the latest clusters are in the window, later ones not yet
const USERS = ['amina', 'kofi', 'wanjiru']
const IPS = ['196.201.214.10', '41.90.64.3', '102.68.1.7', '154.72.9.9']
const PLATFORMS = ['android', 'web', 'ussd'] as const

type Spec = { kind: number; user: number; session: number; at: number; ip: number; device: number }

const arbSpec = fc.record({
  kind: fc.integer({ min: 0, max: 9 }),
  user: fc.integer({ min: 0, max: USERS.length - 1 }),
  session: fc.integer({ min: 0, max: 2 }),
  // Clusters of activity (bursts trigger RAPID_ACTIVITY) spread over 30 hours, across a UTC midnight.
  at: fc
    .tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 50_000 }))
    .map(([cluster, offset]) => T + cluster * (SPAN / 10) + offset),
  ip: fc.integer({ min: 0, max: IPS.length - 1 }),
  device: fc.integer({ min: 0, max: 3 }),
})

function toEvent(s: Spec, run: string): SessionEvent {
  const who: Who = {
    userId: `${USERS[s.user]}-${run}`,
    sessionId: `${USERS[s.user]}-${run}-s${s.session}`,
    ip: IPS[s.ip],
    platform: PLATFORMS[s.device % PLATFORMS.length],
    deviceId: `dev-${s.device}`,
  }
  switch (s.kind) {
    case 0:
    case 1:
      return login(who, s.at, s.device === 3)
    case 2:
    case 3:
      return refresh(who, s.at)
    case 4:
      return revoke(who, s.at, (['logout', 'admin', 'reuse_detected', 'logout_all'] as const)[s.device]!)
    case 5:
      return reuse(who, s.at)
    case 6:
      return mismatch(who, s.at)
    case 7:
      return registered(who.userId, s.at)
    case 8:
      return failedLogin(who.userId, s.at, who.ip)
    default:
      return failedLogin(undefined, s.at, who.ip)
  }
}

async function snapshot(t: TestDb, users: string[]) {
  const db = t.db
  const deps: ReadDeps = { store: createAnalyticsStore(db, 'property'), rules, now: () => NOW }
  const rows = async (q: string) => (await sql.raw(q).execute(db)).rows
  const firstDay = utcDay(T)
  const days = [addDays(firstDay, -1), firstDay, addDays(firstDay, 1), addDays(firstDay, 2)]
  return {
    risk: await rows(
      'select user_id, score, holder_score, factors, evaluated_at, last_event_at, alerted from analytics_user_risk order by user_id',
    ),
    userDays: await rows('select day, user_id, max_score from analytics_user_days order by day, user_id'),
    counters: await rows(
      'select day, hour, metric, count from analytics_counters order by day, hour, metric',
    ),
    sessions: await rows(
      'select session_id, user_id, platform, device_key, remember_me, created_at, expires_at, revoked_at, revoke_reason, ends_at from analytics_sessions order by session_id',
    ),
    events: await rows('select count(*) as n from analytics_events'),
    reports: await Promise.all(days.map((d) => dailyReport(deps, d))),
    overview: await systemAnalytics(deps),
    assessments: await Promise.all(users.map((u) => assessUser(deps, u))),
    userAnalytics: await Promise.all(users.map((u) => userAnalytics(deps, u))),
    flagged: await flaggedUsers(deps, 50),
  }
}

/**
 * The clean run keeps each user's sweep state (every batch in order advances it), or loses it after every
 * batch (as rows from before migration 012: every batch then re-scores from the event store and rebuilds
 * it); the messy run mixes both paths (late events take the event-store one). All must agree.
 */
describe.each([
  { clean: 'sweep states kept', forget: false },
  { clean: 'sweep states lost after every batch', forget: true },
])('ingest is independent of order, duplicates, batching and concurrency ($clean)', ({ forget }) => {
  let clean: TestDb
  let messy: TestDb
  beforeAll(async () => {
    ;[clean, messy] = await Promise.all([testDatabase('prop_clean'), testDatabase('prop_messy')])
  })
  afterAll(async () => {
    await Promise.all([clean?.drop(), messy?.drop()])
  })

  it('gives the same scores, aggregates and reports as the clean ordered run', async () => {
    let runNo = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbSpec, { minLength: 10, maxLength: 90, size: 'max' }),
        fc.infiniteStream(fc.nat()),
        async (specs, rand) => {
          runNo++
          // Ids from the run number keep the runs apart; every table is also emptied between runs.
          const run = `r${runNo}`
          const events = specs.map((s) => toEvent(s, run))
          const users = [...new Set(events.flatMap((e) => (e.userId ? [e.userId] : [])))].sort()
          await Promise.all([clean.truncate(), messy.truncate()])

          const ordered = [...events].sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt))
          for (let i = 0; i < ordered.length; i += 20) {
            await ingestBatch(clean.db, ordered.slice(i, i + 20), { rules, now: () => NOW })
            if (forget) await sql`update analytics_user_risk set sweep = null`.execute(clean.db)
          }

          // Duplicates (some in the same batch), shuffled, random batch sizes, two workers at once.
          const delivered = [...events, ...events.filter(() => rand.next().value % 3 === 0)]
            .map((e) => ({ e, k: rand.next().value }))
            .sort((a, b) => a.k - b.k)
            .map(({ e }) => e)
          const queues: SessionEvent[][][] = [[], []]
          for (let i = 0; i < delivered.length; ) {
            const size = 1 + (rand.next().value % 15)
            queues[rand.next().value % 2]!.push(delivered.slice(i, i + size))
            i += size
          }
          await Promise.all(
            queues.map(async (batches) => {
              for (const batch of batches) await ingestBatch(messy.db, batch, { rules, now: () => NOW })
            }),
          )
          // Redelivering everything once more changes nothing.
          await ingestBatch(messy.db, delivered.slice(0, 30), { rules, now: () => NOW })

          const [a, b] = await Promise.all([snapshot(clean, users), snapshot(messy, users)])
          const strip = (s: typeof a) =>
            JSON.parse(
              JSON.stringify(s, (k, v) => (k === 'generatedAt' || k === 'evaluatedAt' ? undefined : v)),
            )
          expect(strip(b)).toEqual(strip(a))
        },
      ),
      { numRuns: 25 },
    )
  }, 120_000)
})
