import { type OutboxStore, retainedOutbox } from '@africhain/bus'
import { publishedOutboxRows } from '@africhain/db'
import type { SessionEvent } from '@africhain/events'
import type { Kysely, Transaction } from 'kysely'
import type { TokenDatabase } from './tables.ts'

type Db = Kysely<TokenDatabase> | Transaction<TokenDatabase>

/** Writes events to the outbox, inside the caller's transaction: committed together with the change. */
export async function insertOutbox(db: Db, events: SessionEvent[], now: Date): Promise<void> {
  if (events.length === 0) return
  await db
    .insertInto('outbox')
    .values(events.map((e) => ({ id: e.id, payload: JSON.stringify(e), created_at: now })))
    .execute()
}

async function readOutboxBatch(
  db: Kysely<TokenDatabase>,
  limit: number,
): Promise<{ seq: number; id: string; payload: string }[]> {
  return db
    .selectFrom('outbox')
    .select(['seq', 'id', 'payload'])
    .where('stream_key', 'is', null)
    .orderBy('seq')
    .limit(limit)
    .execute()
}

async function outboxBacklog(db: Kysely<TokenDatabase>): Promise<number> {
  const row = await db
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('stream_key', 'is', null)
    .executeTakeFirst()
  return Number(row?.n ?? 0)
}

/**
 * The outbox as the relay reads it (createOutboxRelay): unpublished rows oldest first by `seq`; published
 * ones keep the stream id of their XADD for OUTBOX_RETENTION (migration 006), then the janitor deletes them.
 */
export function outboxStore(db: Kysely<TokenDatabase>): OutboxStore<SessionEvent> {
  return {
    async read(limit) {
      const rows = await readOutboxBatch(db, limit)
      return rows.map((r) => ({ key: r.seq, event: JSON.parse(r.payload) as SessionEvent }))
    },
    ...retainedOutbox(publishedOutboxRows(db, 'outbox', 'seq')),
    backlog: () => outboxBacklog(db),
  }
}
