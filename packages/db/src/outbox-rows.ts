import { type Kysely, sql } from 'kysely'
import { deleteOlderThan } from './delete-older.ts'

/**
 * The published rows of an outbox table that has `stream_key` (the stream id its XADD returned, as
 * fixed-width text that sorts like the id; null while unpublished) and `published_at`. Both services' outbox
 * stores build the relay's retention on it (packages/bus/src/outbox-retention.ts).
 */
export function publishedOutboxRows<DB>(db: Kysely<DB>, table: string, keyColumn: string) {
  // The table is chosen by the caller's code, never by input; the builder is untyped over it.
  const q = db as unknown as Kysely<Record<string, Record<string, unknown>>>
  return {
    /** One UPDATE: each row gets its own stream key (`case <key> when … then … end`). */
    async mark(pairs: readonly (readonly [string | number, string])[], at: Date): Promise<void> {
      if (pairs.length === 0) return
      const whens = pairs.map(([k, v]) => sql`when ${k} then ${v}`)
      await q
        .updateTable(table)
        .set({ published_at: at, stream_key: sql`case ${sql.ref(keyColumn)} ${sql.join(whens, sql` `)} end` })
        .where(
          keyColumn,
          'in',
          pairs.map(([k]) => k),
        )
        .execute()
    },
    async highestKey(): Promise<string | null> {
      const row = await q
        .selectFrom(table)
        .select(sql<string | null>`max(stream_key)`.as('k'))
        .executeTakeFirst()
      return (row?.k as string | null | undefined) ?? null
    },
    /** Unpublished again: up to `limit` rows whose stream key is above `key` ('' for any published row). */
    async unpublishAbove(key: string, limit: number): Promise<number> {
      const res = await q
        .updateTable(table)
        .set({ stream_key: null, published_at: null })
        .where('stream_key', '>', key)
        .orderBy('stream_key')
        .limit(limit)
        .executeTakeFirst()
      return Number(res.numUpdatedRows)
    },
    deleteBefore: (cutoff: Date, limit: number) => deleteOlderThan(db, table, 'published_at', cutoff, limit),
  }
}
