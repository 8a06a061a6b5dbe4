import { publish } from '@africhain/bus'
import type { SessionEvent } from '@africhain/events'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Worker } from '../src/worker.ts'
import { useTestApp } from './helpers/app.ts'
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
import { testWorker } from './helpers/worker.ts'

// The daily report's per-type hourly series (`hourlyByType`), from real events published on the stream and
// stored by a real worker: each type at known UTC hours of two consecutive days.
const file = useTestApp('report-hourly')
const { app, db, issuer, redis } = file

type Kind = 'logins' | 'failedLogins' | 'refreshes' | 'revocations' | 'reuseDetections'
const KINDS: Kind[] = ['logins', 'failedLogins', 'refreshes', 'revocations', 'reuseDetections']
const DAY = '2026-03-10'
const PREVIOUS = '2026-03-09'

/** [day, kind, hour, how many]: distinct counts per type and hour, so a swapped series or hour shows. */
const PLAN: [string, Kind, number, number][] = [
  [DAY, 'logins', 0, 1],
  [DAY, 'logins', 2, 3],
  [DAY, 'logins', 14, 2],
  [DAY, 'failedLogins', 5, 4],
  [DAY, 'failedLogins', 23, 1],
  [DAY, 'refreshes', 2, 2],
  [DAY, 'refreshes', 23, 5],
  [DAY, 'revocations', 7, 1],
  [DAY, 'revocations', 14, 3],
  [DAY, 'reuseDetections', 7, 2],
  [PREVIOUS, 'logins', 23, 6],
  [PREVIOUS, 'reuseDetections', 1, 1],
]

let n = 0
function eventOf(kind: Kind, at: number): SessionEvent {
  n++
  const who: Who = { userId: `u${n % 7}`, sessionId: `s${n}`, deviceId: `d${n % 3}` }
  if (kind === 'logins') return login(who, at)
  if (kind === 'failedLogins') return failedLogin(who.userId, at)
  if (kind === 'refreshes') return refresh(who, at)
  if (kind === 'revocations') return revoke(who, at, n % 2 ? 'logout' : 'admin')
  return reuse(who, at)
}

const events = PLAN.flatMap(([day, kind, hour, count]) =>
  Array.from({ length: count }, (_, i) =>
    eventOf(kind, Date.parse(`${day}T${String(hour).padStart(2, '0')}:0${i}:30Z`)),
  ),
)
// Events of other types count in `hourly` (all events) but in no per-type series.
const others = [
  mismatch({ userId: 'u1', sessionId: 's1' }, Date.parse(`${DAY}T09:15:00Z`)),
  registered('u9', Date.parse(`${DAY}T02:40:00Z`)),
]

function expectedHours(day: string, kind?: Kind): number[] {
  const hours = Array.from({ length: 24 }, () => 0)
  for (const [d, k, hour, count] of PLAN)
    if (d === day && (kind === undefined || k === kind)) hours[hour]! += count
  return hours
}

let worker: Worker | undefined
let token: string

async function report(date: string) {
  const res = await app.inject({
    method: 'GET',
    url: `/analytics/report?date=${date}`,
    headers: { authorization: `Bearer ${token}` },
  })
  expect(res.statusCode).toBe(200)
  return res.json()
}

beforeAll(async () => {
  token = await issuer.mint('sec-hourly', ['security'])
  // A duplicate delivery of the first event: counted once.
  await publish(redis, file.config.EVENTS_STREAM, [...events, ...others, events[0]!])
  const w = testWorker(file.config, { redis, db })
  worker = w
  await w.start()
  await w.storedEntries(events.length + others.length + 1)
})
afterAll(async () => {
  await worker?.stop()
})

describe('GET /analytics/report: hourlyByType', () => {
  it.each(KINDS)('%s: the stored events of that type per UTC hour, on their own day only', async (kind) => {
    const [today, before] = [await report(DAY), await report(PREVIOUS)]
    expect(today.hourlyByType[kind]).toEqual(expectedHours(DAY, kind))
    expect(before.hourlyByType[kind]).toEqual(expectedHours(PREVIOUS, kind))
    // Each series adds up to the day's total of that type.
    const total = kind === 'revocations' ? today.revocations.total : today[kind]
    expect(today.hourlyByType[kind].reduce((a: number, b: number) => a + b, 0)).toBe(total)
  })

  it('keeps `hourly` as every event per hour, other types included', async () => {
    const body = await report(DAY)
    const all = expectedHours(DAY)
    for (const e of others) all[new Date(e.occurredAt).getUTCHours()]! += 1
    expect(body.hourly).toEqual(all)
    expect(Object.keys(body.hourlyByType).sort()).toEqual([...KINDS].sort())
  })

  it('answers zeros for a day without events', async () => {
    const body = await report('2020-01-01')
    for (const kind of KINDS) expect(body.hourlyByType[kind]).toEqual(Array(24).fill(0))
  })

  it('is read from the hourly counters, not the event store: emptying the store changes nothing', async () => {
    const before = await report(DAY)
    await sql`delete from analytics_events`.execute(db)
    const after = await report(DAY)
    expect({ ...after, generatedAt: 0 }).toEqual({ ...before, generatedAt: 0 })
  })
})
