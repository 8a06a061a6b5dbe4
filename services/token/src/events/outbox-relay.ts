import { createOutboxRelay, type OutboxRelay } from '@africhain/bus'
import type { SessionEvent } from '@africhain/events'
import { markSessionRevoked } from '@africhain/verifier/state-writer'
import type { FastifyBaseLogger as Logger } from 'fastify'
import type { Kysely } from 'kysely'
import { outboxStore } from '../storage/outbox.ts'
import type { RedisClient } from '../storage/redis-state.ts'
import { redisLease } from '../storage/relay-lease.ts'
import type { TokenDatabase } from '../storage/tables.ts'

export type { OutboxRelay } from '@africhain/bus'

type Revoked = Extract<SessionEvent, { type: 'session.revoked' }>

/**
 * After a commit's nudge the relay waits this long before its round, so one round (lease, stream check,
 * `SELECT`, XADD pipeline, `UPDATE`) carries the events of many refreshes, and the worker reads them as one
 * burst (one ingest batch). The events reach the stream up to this much later; nothing waits on them: the
 * refresh has committed and answered, and a revocation writes the hot state itself before it answers.
 */
const RELAY_LINGER_MS = 50

/**
 * The token service's relay (createOutboxRelay in @africhain/bus): the MySQL outbox to EVENTS_STREAM, one
 * instance per deployment at a time (a Redis lease under the deployment's key, storage/redis-keys.ts). It
 * also re-applies the revocation tombstone of every `session.revoked` it relays, so a revocation whose
 * direct Redis write failed still reaches the hot state.
 */
export function tokenOutboxRelay(opts: {
  db: Kysely<TokenDatabase>
  redis: RedisClient
  stream: string
  maxLen: number
  retentionMs: number
  leaseKey: string
  log: Logger
  onPublished?: (count: number) => void
  onBacklog?: (count: number) => void
  onRepublish?: (count: number) => void
}): OutboxRelay {
  const { redis } = opts
  return createOutboxRelay(outboxStore(opts.db), redisLease(redis, opts.leaseKey, 5_000), {
    redis,
    stream: opts.stream,
    maxLen: opts.maxLen,
    retentionMs: opts.retentionMs,
    lingerMs: RELAY_LINGER_MS,
    logger: opts.log,
    afterPublish: async (events) => {
      const revoked = events.filter((e): e is Revoked => e.type === 'session.revoked' && !!e.sessionId)
      await Promise.all(
        revoked.map((e) => markSessionRevoked(redis, e.sessionId!, new Date(e.data.accessTokensValidUntil))),
      )
    },
    ...(opts.onPublished ? { onPublished: (events) => opts.onPublished!(events.length) } : {}),
    ...(opts.onBacklog ? { onBacklog: opts.onBacklog } : {}),
    ...(opts.onRepublish ? { onRepublish: opts.onRepublish } : {}),
  })
}
