import { type Kysely, sql } from 'kysely'
import type { ClientActivity } from '../domain/ports.ts'
import { clientNetOf } from './migrations/008-events-by-client.ts'
import type { Database } from './tables.ts'

const FAILED = sql<number>`sum(type = 'login.failed')`
const SUCCEEDED = sql<number>`sum(type = 'session.created')`

/**
 * What came from one client (an IPv4 address, or an IPv6 /64), over every stored event: two reads of the
 * `analytics_events_client_time` index alone (it carries type and user), one for the totals and one for
 * the accounts with the most failed logins.
 */
export async function clientActivity(
  db: Kysely<Database>,
  ip: string,
  limit: number,
): Promise<ClientActivity> {
  const ofClient = () => db.selectFrom('analytics_events').where('client_net', '=', clientNetOf(sql`${ip}`))
  const [totals, users] = await Promise.all([
    ofClient()
      .select([
        sql<number>`count(distinct user_id)`.as('accounts'),
        FAILED.as('failed'),
        SUCCEEDED.as('succeeded'),
        sql<Date | null>`min(occurred_at)`.as('first'),
        sql<Date | null>`max(occurred_at)`.as('last'),
      ])
      .executeTakeFirstOrThrow(),
    ofClient()
      .select(['user_id', FAILED.as('failed'), SUCCEEDED.as('succeeded')])
      .where('user_id', 'is not', null)
      .groupBy('user_id')
      .orderBy('failed', 'desc')
      .orderBy('succeeded', 'desc')
      .orderBy('user_id')
      .limit(limit)
      .execute(),
  ])
  return {
    accounts: Number(totals.accounts),
    logins: Number(totals.succeeded ?? 0),
    failedLogins: Number(totals.failed ?? 0),
    firstSeen: totals.first,
    lastSeen: totals.last,
    users: users.map((u) => ({
      userId: u.user_id!,
      failed: Number(u.failed),
      succeeded: Number(u.succeeded),
    })),
  }
}
