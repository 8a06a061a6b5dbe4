import { markSessionActive, markSessionRevoked } from '@africhain/verifier'
import type { Kysely } from 'kysely'
import type { RedisClient } from './redis-state.ts'
import type { TokenDatabase } from './tables.ts'

const SENTINEL = 'sess:rebuilt'
const PAGE = 1000

/**
 * Rebuilds the hot session state from MySQL: every live session is marked active (NX, so a tombstone written
 * meanwhile wins) and every session revoked within the last access-token lifetime gets its tombstone again.
 * Then sets a sentinel. Returns the number of sessions written.
 */
export async function rebuildHotState(
  db: Kysely<TokenDatabase>,
  redis: RedisClient,
  accessTtl: number,
): Promise<number> {
  const now = new Date()
  let written = 0
  let after = ''
  for (;;) {
    const rows = await db
      .selectFrom('sessions')
      .select(['id', 'expires_at', 'revoked_at'])
      .where('id', '>', after)
      .where('expires_at', '>', now)
      .where((eb) =>
        eb.or([
          eb('revoked_at', 'is', null),
          eb('revoked_at', '>', new Date(now.getTime() - accessTtl * 1000)),
        ]),
      )
      .orderBy('id')
      .limit(PAGE)
      .execute()
    if (rows.length === 0) break
    await Promise.all(
      rows.map((r) =>
        r.revoked_at
          ? markSessionRevoked(
              redis,
              r.id,
              new Date(Math.min(r.expires_at.getTime(), r.revoked_at.getTime() + accessTtl * 1000)),
            )
          : markSessionActive(redis, r.id, r.expires_at),
      ),
    )
    written += rows.length
    after = rows[rows.length - 1]!.id
  }
  await redis.set(SENTINEL, now.toISOString())
  return written
}

/** True when Redis has lost the hot state since the last rebuild (the sentinel is gone). */
export async function needsRebuild(redis: RedisClient): Promise<boolean> {
  return (await redis.exists(SENTINEL)) === 0
}
