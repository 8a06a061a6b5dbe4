import { type Kysely, sql, type Transaction } from 'kysely'
import type { DayTotals } from '../domain/report.ts'
import type { Database } from './tables.ts'

type Db = Kysely<Database> | Transaction<Database>

/** Counter totals per metric over whole hours `[from, to)` (hour-aligned instants). */
export async function countersBetween(db: Db, from: Date, to: Date): Promise<Record<string, number>> {
  const hourStart = sql<Date>`timestampadd(hour, hour, day)`
  const rows = await db
    .selectFrom('analytics_counters')
    .select(['metric', sql<string>`sum(count)`.as('n')])
    .where('day', '>=', from.toISOString().slice(0, 10))
    .where('day', '<=', to.toISOString().slice(0, 10))
    .where(hourStart, '>=', from)
    .where(hourStart, '<', to)
    .groupBy('metric')
    .execute()
  return Object.fromEntries(rows.map((r) => [r.metric, Number(r.n)]))
}

/** Everything the daily report needs about one day: the day's counter rows (a primary-key range) and user rows. */
export async function dayTotals(db: Db, day: string, suspiciousAbove: number): Promise<DayTotals> {
  const rows = await db
    .selectFrom('analytics_counters')
    .select(['hour', 'metric', 'count'])
    .where('day', '=', day)
    .execute()
  const counters: Record<string, number> = {}
  const hourly: Record<string, number[]> = {}
  for (const r of rows) {
    counters[r.metric] = (counters[r.metric] ?? 0) + Number(r.count)
    const hours = hourly[r.metric] ?? Array.from({ length: 24 }, () => 0)
    hours[r.hour] = Number(r.count)
    hourly[r.metric] = hours
  }
  const users = await db
    .selectFrom('analytics_user_days')
    .select([
      sql<number>`count(*)`.as('users'),
      sql<string>`coalesce(sum(case when max_score > ${suspiciousAbove} then 1 else 0 end), 0)`.as(
        'suspicious',
      ),
    ])
    .where('day', '=', day)
    .executeTakeFirstOrThrow()
  return { counters, hourly, uniqueUsers: Number(users.users), suspiciousUsers: Number(users.suspicious) }
}
