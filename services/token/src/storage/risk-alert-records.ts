import { deleteOlderThan } from '@africhain/db'
import type { Kysely } from 'kysely'
import type { TokenDatabase } from './tables.ts'

/** How many applied-alert rows one prune statement deletes. */
const PRUNE_BATCH = 1_000

/**
 * The risk-alert consumer's records in the token database (migration 007), beside the applied alerts that
 * `SessionStore.revokeForAlert` writes: which consumer groups this deployment had, and the pruning of
 * applied alerts too old to be read again.
 */
export function riskAlertRecords(db: Kysely<TokenDatabase>) {
  return {
    /** Whether this deployment created or read from `group`: one missing now was lost with Redis. */
    async hadGroup(group: string): Promise<boolean> {
      const row = await db
        .selectFrom('consumer_groups')
        .select('name')
        .where('name', '=', group)
        .executeTakeFirst()
      return row !== undefined
    },
    async recordGroup(group: string, at: Date): Promise<void> {
      await db.insertInto('consumer_groups').ignore().values({ name: group, created_at: at }).execute()
    },
    /**
     * Deletes up to `PRUNE_BATCH` applied alerts older than `cutoff` (one statement on the `applied_at`
     * index); resolves with how many. Called after each alert that revoked, it deletes faster than rows
     * age out, so the table holds about what the window does.
     */
    pruneApplied: (cutoff: Date) =>
      deleteOlderThan(db, 'risk_alerts_applied', 'applied_at', cutoff, PRUNE_BATCH),
  }
}

export type RiskAlertRecords = ReturnType<typeof riskAlertRecords>
