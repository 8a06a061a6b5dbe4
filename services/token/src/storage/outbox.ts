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

export async function readOutboxBatch(
  db: Kysely<TokenDatabase>,
  limit: number,
): Promise<{ seq: number; id: string; payload: string }[]> {
  return db.selectFrom('outbox').select(['seq', 'id', 'payload']).orderBy('seq').limit(limit).execute()
}

export async function deleteOutbox(db: Kysely<TokenDatabase>, seqs: number[]): Promise<void> {
  if (seqs.length > 0) await db.deleteFrom('outbox').where('seq', 'in', seqs).execute()
}

export async function outboxBacklog(db: Kysely<TokenDatabase>): Promise<number> {
  const row = await db
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst()
  return Number(row?.n ?? 0)
}
