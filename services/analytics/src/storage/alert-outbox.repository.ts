import { type OutboxStore, retainedOutbox } from '@africhain/bus'
import { publishedOutboxRows } from '@africhain/db'
import type { RiskAlert } from '@africhain/events'
import { type Kysely, sql, type Transaction } from 'kysely'
import type { Database } from './tables.ts'

type Db = Kysely<Database> | Transaction<Database>

/**
 * The alert outbox as the relay reads it (createOutboxRelay): unpublished alerts oldest first, marked
 * published after their XADD with its stream id and kept for OUTBOX_RETENTION (migration 010). The read is
 * a plain consistent read: it takes no locks and never waits for the rows ingest transactions are still
 * inserting (the next round sees them once they commit).
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
    ...retainedOutbox(publishedOutboxRows(db, 'analytics_alert_outbox', 'id')),
    backlog: () => unpublishedCount(db),
  }
}

export async function unpublishedCount(db: Db): Promise<number> {
  const row = await db
    .selectFrom('analytics_alert_outbox')
    .select(sql<number>`count(*)`.as('n'))
    .where('published_at', 'is', null)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
