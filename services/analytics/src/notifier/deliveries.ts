import { deleteOlderThan } from '@africhain/db'
import type { Kysely } from 'kysely'
import type { Database } from '../storage/tables.ts'

/** How many marker rows one janitor statement deletes. */
const JANITOR_BATCH = 1_000

/**
 * The (hook, alert) pairs a webhook accepted, in the database (migration 011): an alert read again — a crash
 * before its ack, a claim, or the relay publishing it again after Redis lost the stream, the group or
 * everything, or went back to an older snapshot — is not posted again to a hook that took it. Markers in
 * Redis would be lost or rolled back with the stream they guard.
 */
export function notifierDeliveries(db: Kysely<Database>) {
  return {
    /** Of these alerts, the hook names that already took each one. */
    async delivered(alertIds: readonly string[]): Promise<Set<string>> {
      if (alertIds.length === 0) return new Set()
      const rows = await db
        .selectFrom('analytics_notifier_deliveries')
        .select(['alert_id', 'hook'])
        .where('alert_id', 'in', alertIds)
        .execute()
      return new Set(rows.map((r) => pairKey(r.hook, r.alert_id)))
    },
    /** Whether any delivery is recorded (within the markers' window): this deployment's notifier ran. */
    async any(): Promise<boolean> {
      const row = await db
        .selectFrom('analytics_notifier_deliveries')
        .select('hook')
        .limit(1)
        .executeTakeFirst()
      return row !== undefined
    },
    async record(hook: string, alertId: string, at: Date): Promise<void> {
      await db
        .insertInto('analytics_notifier_deliveries')
        .ignore()
        .values({ hook, alert_id: alertId, delivered_at: at })
        .execute()
    },
    /** Deletes the markers older than `cutoff`, `JANITOR_BATCH` rows per statement; resolves with how many. */
    async deleteBefore(cutoff: Date): Promise<number> {
      let total = 0
      for (;;) {
        const n = await deleteOlderThan(
          db,
          'analytics_notifier_deliveries',
          'delivered_at',
          cutoff,
          JANITOR_BATCH,
        )
        total += n
        if (n < JANITOR_BATCH) return total
      }
    },
  }
}

export const pairKey = (hook: string, alertId: string) => `${hook}\n${alertId}`
