import type { RedisClient } from '@africhain/bus'
import { newEvent } from '@africhain/events'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import { insertOutbox } from '../storage/outbox.ts'
import type { DeploymentKeys } from '../storage/redis-keys.ts'
import type { TokenDatabase } from '../storage/tables.ts'

export type RateLimitHit = {
  /** The route's path, e.g. `/auth/login`. */
  route: string
  /** What the limit counts: the IPv4 address or the IPv6 network (`clientKey`). */
  client: string
  limit: number
  windowMs: number
  ip: string
  userAgent: string | null
}

type Deps = {
  db: Kysely<TokenDatabase>
  redis: RedisClient
  keys: DeploymentKeys
  /** Wakes the outbox relay after the event is committed. */
  nudge: () => void
  log: FastifyBaseLogger
}

/**
 * Leaves a trace of a rate-limited burst for analysts: one `abuse.rate_limited` event per limited client and
 * route per window, however many requests the client keeps sending. The first 429 of a window wins a
 * `SET … PX window NX` and writes the event to the outbox (relayed like every other event); the other 429s
 * cost that one Redis command. Best effort by design: the caller does not wait for it, and a failure is
 * logged, never allowed to change the 429 answer.
 */
export function rateLimitRecorder({
  db,
  redis,
  keys,
  nudge,
  log,
}: Deps): (hit: RateLimitHit) => Promise<void> {
  return async (hit) => {
    const once = keys.rateLimitedOnce(hit.route, hit.client)
    let won = false
    try {
      won = (await redis.set(once, '1', 'PX', hit.windowMs, 'NX')) === 'OK'
      if (!won) return
      const event = newEvent({
        type: 'abuse.rate_limited',
        ip: hit.ip.slice(0, 64),
        ...(hit.userAgent ? { userAgent: hit.userAgent } : {}),
        data: {
          route: hit.route.slice(0, 64),
          client: hit.client.slice(0, 64),
          limit: hit.limit,
          windowSeconds: Math.max(1, Math.round(hit.windowMs / 1000)),
        },
      })
      await insertOutbox(db, [event], new Date())
      nudge()
    } catch (err) {
      // The outbox write failed after the SET won: free the window, so the client's next 429 tries again.
      if (won) await redis.del(once).catch(() => 0)
      log.warn(
        { err: { message: (err as Error).message }, route: hit.route },
        'rate-limited event not recorded',
      )
    }
  }
}
