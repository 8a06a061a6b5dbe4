import type { Kysely } from 'kysely'
import type { TokenDatabase } from './tables.ts'

/**
 * The Redis keys the token service coordinates through, each named after its deployment (the random id in
 * the `deployment` table, migration 003): two deployments sharing one Redis without a `REDIS_KEY_PREFIX`
 * never hold each other's lease, trust each other's sentinel or count each other's failures.
 * Session state keys (`s:{sid}`, @africhain/verifier) are not here: resource servers read them by session
 * id alone, and session ids are 128 random bits.
 */
export type DeploymentKeys = {
  deploymentId: string
  /** One outbox relay at a time. */
  relayLease: string
  /** One revocation replay (and hot-state rebuild) at a time. */
  hotStateLease: string
  /** One session janitor at a time (storage/session-janitor.ts). */
  janitorLease: string
  /** Set after a full rebuild of the hot state; its absence means Redis lost its data. */
  rebuiltSentinel: string
  /** Prefix of @fastify/rate-limit's counters. */
  rateLimitNamespace: string
  /** Login attempts counted for one account (`tag` hashes the account key; same slot as the lock). */
  loginAttempts(tag: string): string
  loginLock(tag: string): string
  /** Set once per limited client, route and window: one `abuse.rate_limited` event each. */
  rateLimitedOnce(route: string, client: string): string
}

export function deploymentKeys(deploymentId: string): DeploymentKeys {
  const d = `d:${deploymentId}:`
  return {
    deploymentId,
    relayLease: `${d}outbox-relay-lease`,
    hotStateLease: `${d}hot-state-lease`,
    rebuiltSentinel: `${d}hot-state-rebuilt`,
    janitorLease: `${d}session-janitor-lease`,
    rateLimitNamespace: `${d}rl:`,
    loginAttempts: (tag) => `${d}lf:{${tag}}:n`,
    loginLock: (tag) => `${d}lf:{${tag}}:lock`,
    rateLimitedOnce: (route, client) => `${d}rl-event:${route}:${client}`,
  }
}

export async function readDeploymentId(db: Kysely<TokenDatabase>): Promise<string> {
  const row = await db.selectFrom('deployment').select('id').executeTakeFirst()
  if (!row)
    throw new Error('the deployment table is empty: run the token service migrations (pnpm cli migrate)')
  return row.id
}
