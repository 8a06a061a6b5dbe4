import { createDb, sqlLiteral } from '@africhain/db'
import type { SessionEvent } from '@africhain/events'
import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { userKey } from '../src/domain/event-facts.ts'
import { DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import { TAIL_MS } from '../src/domain/sweep-state.ts'
import { ingestBatch } from '../src/storage/ingest.ts'
import { inList, runScript, type Stmt } from '../src/storage/ingest-script.ts'
import { leavingEvents, leavingOf, ROWS_PER_STATEMENT } from '../src/storage/ingest-statements.ts'
import { chunks } from '../src/storage/sql-helpers.ts'
import type { Database } from '../src/storage/tables.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { refresh } from './helpers/events.ts'

// The leaving read (storage/ingest-statements.ts `leavingEvents`: one UNION ALL part per user, its bounds point
// subqueries on the risk row) returns what the join it replaced returned — that join is the oracle here — for
// users without a risk row, without a state, without a latest event, spelled with trailing spaces or another
// case, bounds far behind and far ahead, and more users than one statement takes.
function oldLeaving(sorted: readonly string[], to: Date): Stmt[] {
  const fromUs = Math.round(rules.windowMs + TAIL_MS) * 1000
  const toUs = Math.round(rules.windowMs - rules.rapidWindowMs) * 1000
  return chunks(sorted, ROWS_PER_STATEMENT).map((part) => ({
    sql: `select e.user_id, e.id, e.type, e.occurred_at, e.ip, e.device_key, e.reason from analytics_user_risk r join analytics_events e on e.user_id = r.user_id and e.occurred_at > r.last_event_at - interval ${fromUs} microsecond and e.occurred_at <= greatest(${sqlLiteral(to)}, r.last_event_at - interval ${toUs} microsecond) where r.user_id in ${inList(part)} and r.sweep is not null`,
  }))
}

const T0 = Date.parse('2026-11-20T00:00:00.000Z')
let t: TestDb
let multi: Kysely<Database>

function hist(user: string, n: number, spanMs: number, end = T0): SessionEvent[] {
  const who = { userId: user, sessionId: `${user}-s`, ip: '10.1.0.7', deviceId: 'phone' }
  return Array.from({ length: n }, (_, i) => refresh(who, end - spanMs + Math.floor((i * spanMs) / n), i + 1))
}

const canon = (m: Map<string, { id: string; at: number }[]>) =>
  [...m.entries()]
    .map(([k, v]) => [k, v.map((e) => `${e.id}@${e.at}`).sort()] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))

beforeAll(async () => {
  t = await testDatabase('leaving_events_equivalence')
  multi = createDb<Database>({ url: t.url, connectionLimit: 1, multipleStatements: true })
  const users = [
    'plain',
    'no-risk-row',
    'sweep-null',
    'null-last',
    'tsp',
    'Case',
    'case',
    ...Array.from({ length: 450 }, (_, i) => `many-${String(i).padStart(3, '0')}`),
  ]
  for (const u of users) await ingestBatch(t.db, hist(u, 40, 70_000), { rules })
  // Same user under PAD SPACE, a trailing-space spelling.
  await ingestBatch(t.db, hist('tsp  ', 20, 65_000), { rules })
  await sql`delete from analytics_user_risk where user_id = 'no-risk-row'`.execute(t.db)
  await sql`update analytics_user_risk set sweep = null where user_id = 'sweep-null'`.execute(t.db)
  await sql`update analytics_user_risk set last_event_at = null where user_id = 'null-last'`.execute(t.db)
})
afterAll(async () => {
  await multi?.destroy()
  await t?.drop()
})

describe('review: leavingEvents returns what the join it replaced returned', () => {
  const cases: [string, string[], number][] = [
    ['plain', ['plain'], T0 - 50_000],
    ['no risk row', ['no-risk-row', 'plain'], T0 - 50_000],
    ['sweep NULL', ['sweep-null', 'plain'], T0 - 50_000],
    ['last_event_at NULL', ['null-last', 'plain'], T0 - 50_000],
    ['trailing-space spellings', ['tsp'], T0 - 50_000],
    ['case differs', ['Case', 'case'], T0 - 50_000],
    ['to far behind', ['plain', 'Case'], T0 - 10 * 3600_000],
    ['to far ahead', ['plain', 'Case'], T0 + 3600_000],
    [
      '450 users (three statements of 200)',
      Array.from({ length: 450 }, (_, i) => `many-${String(i).padStart(3, '0')}`),
      T0 - 30_000,
    ],
    ['unknown user', ['nobody'], T0],
  ]
  for (const m of [false, true])
    it.each(cases)(`%s (multipleStatements ${m})`, async (_n, users, to) => {
      const sorted = [...new Set(users.map(userKey))].sort()
      const db = m ? multi : t.db
      const before = leavingOf((await runScript(db, { l: oldLeaving(sorted, new Date(to)) }, m)).l.rows)
      const after = leavingOf(
        (await runScript(db, { l: leavingEvents(sorted, new Date(to), rules) }, m)).l.rows,
      )
      expect(canon(after as never)).toEqual(canon(before as never))
      if (!['to far behind', 'unknown user'].includes(_n)) expect(before.size).toBeGreaterThan(0)
    })
})
