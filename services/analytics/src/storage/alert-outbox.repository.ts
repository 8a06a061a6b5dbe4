import type { OutboxStore } from '@africhain/bus'
import type { RiskAlert } from '@africhain/events'
import { type Kysely, sql, type Transaction } from 'kysely'
import type { Database } from './tables.ts'

type Db = Kysely<Database> | Transaction<Database>

/**
 * The alert outbox as the relay reads it (createOutboxRelay): unpublished alerts oldest first, marked
 * published after their XADD. The read is a plain consistent read: it takes no locks and never waits for
 * the rows ingest transactions are still inserting (the next round sees them once they commit).
 */
export function alertOutboxStore(db: Kysely<Database>): OutboxStore<RiskAlert> {
  return {
    async read(limit) {
      const rows = await db
        .selectFrom('analytics_alert_outbox')
        .select(['id', 'payload'])
        .where('published_at', 'is', null)
        .orderBy('created_at')
        .limit(limit)
        .execute()
      return rows.map((r) => ({ key: r.id, event: JSON.parse(r.payload) as RiskAlert }))
    },
    markPublished: (ids) => markPublished(db, ids as string[], new Date()),
    backlog: () => unpublishedCount(db),
  }
}

export async function markPublished(db: Db, ids: readonly string[], at: Date): Promise<void> {
  if (ids.length === 0) return
  await db.updateTable('analytics_alert_outbox').set({ published_at: at }).where('id', 'in', ids).execute()
}

export async function unpublishedCount(db: Db): Promise<number> {
  const row = await db
    .selectFrom('analytics_alert_outbox')
    .select(sql<number>`count(*)`.as('n'))
    .where('published_at', 'is', null)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
