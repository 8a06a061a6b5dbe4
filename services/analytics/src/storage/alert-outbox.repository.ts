import { randomBytes } from 'node:crypto'
import type { RiskAlert } from '@africhain/events'
import { type Kysely, sql, type Transaction } from 'kysely'
import type { Database } from './tables.ts'

type Db = Kysely<Database> | Transaction<Database>

/**
 * Claims up to `limit` unpublished alerts for `leaseMs` (a claim by a relay that died expires), oldest
 * first. One UPDATE decides the claim, so two relays never hold the same alert at once; an alert can
 * still be published twice if a relay dies between XADD and marking it, and consumers dedupe on its id.
 */
export async function claimUnpublished(
  db: Kysely<Database>,
  limit: number,
  leaseMs: number,
): Promise<RiskAlert[]> {
  const token = randomBytes(8).toString('hex')
  const now = new Date()
  // READ COMMITTED: no gap locks on the unpublished range and no waiting for rows that ingest transactions
  // are still inserting (they are skipped, and claimed by the next sweep), so the claim never holds up ingest.
  await db
    .transaction()
    .setIsolationLevel('read committed')
    .execute((trx) =>
      trx
        .updateTable('analytics_alert_outbox')
        .set({ claim_token: token, claimed_until: new Date(now.getTime() + leaseMs) })
        .where('published_at', 'is', null)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]))
        .orderBy('created_at')
        .limit(limit)
        .execute(),
    )
  const rows = await db
    .selectFrom('analytics_alert_outbox')
    .select('payload')
    .where('claim_token', '=', token)
    .where('published_at', 'is', null)
    .orderBy('created_at')
    .execute()
  return rows.map((r) => JSON.parse(r.payload) as RiskAlert)
}

export async function markPublished(db: Db, ids: readonly string[], at: Date): Promise<void> {
  if (ids.length === 0) return
  await db
    .updateTable('analytics_alert_outbox')
    .set({ published_at: at, claim_token: null, claimed_until: null })
    .where('id', 'in', ids)
    .execute()
}

export async function unpublishedCount(db: Db): Promise<number> {
  const row = await db
    .selectFrom('analytics_alert_outbox')
    .select(sql<number>`count(*)`.as('n'))
    .where('published_at', 'is', null)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
