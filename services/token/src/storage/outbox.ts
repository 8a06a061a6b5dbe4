import type { OutboxStore } from '@africhain/bus'
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
  return db.selectFrom('outbox').select(['seq', 'id', 'payload']).orderBy('seq').limit(limit).execute()
}

async function deleteOutbox(db: Kysely<TokenDatabase>, seqs: number[]): Promise<void> {
  if (seqs.length > 0) await db.deleteFrom('outbox').where('seq', 'in', seqs).execute()
}

async function outboxBacklog(db: Kysely<TokenDatabase>): Promise<number> {
  const row = await db
    .selectFrom('outbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst()
  return Number(row?.n ?? 0)
}

/** The outbox as the relay reads it (createOutboxRelay): oldest first by `seq`, deleted once published. */
export function outboxStore(db: Kysely<TokenDatabase>): OutboxStore<SessionEvent> {
  return {
    async read(limit) {
      const rows = await readOutboxBatch(db, limit)
      return rows.map((r) => ({ key: r.seq, event: JSON.parse(r.payload) as SessionEvent }))
    },
    markPublished: (seqs) => deleteOutbox(db, seqs as number[]),
    backlog: () => outboxBacklog(db),
  }
}
