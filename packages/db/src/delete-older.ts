import type { Kysely } from 'kysely'

/**
 * Deletes up to `limit` rows of `table` whose `column` is older than `cutoff`, oldest first, in one statement
 * on that column's index; resolves with how many. The one bounded delete every retention janitor uses (the
 * outboxes' published rows, applied risk alerts, the notifier's delivery records): callers loop while a full
 * batch came back, checking whatever they must between statements.
 */
export async function deleteOlderThan<DB>(
  db: Kysely<DB>,
  table: string,
  column: string,
  cutoff: Date,
  limit: number,
): Promise<number> {
  // The table and column are the caller's code, never input; the builder is untyped over them.
  const q = db as unknown as Kysely<Record<string, Record<string, unknown>>>
  const res = await q
    .deleteFrom(table)
    .where(column, '<', cutoff)
    .orderBy(column)
    .limit(limit)
    .executeTakeFirst()
  return Number(res.numDeletedRows)
}
