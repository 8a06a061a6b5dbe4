import { hostname } from 'node:os'
import { type Consumer, createConsumer, dedupeWindowMs } from '@africhain/bus'
import { decodeAlert, type RiskAlert } from '@africhain/events'
import { dependencyOf } from '@africhain/http'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { SessionUseCases } from '../domain/use-cases/session-use-cases.ts'

/**
 * `stranger_only`: the full score reached the threshold but the holder score did not (failed logins and
 * other signals anyone can cause); `below_threshold`: neither did.
 */
export type RiskAlertOutcome = 'revoked' | 'duplicate' | 'stranger_only' | 'below_threshold' | 'disabled'

/**
 * Closes the loop with analytics: consumes `risk.alert` events in the token service's own consumer group.
 * With RISK_AUTO_REVOKE_SCORE set, an alert whose `holderScore` is at or above it revokes all the user's
 * sessions (reason `risk`, which is itself a `session.revoked` event). Never the full `score`: a stranger
 * can raise that with failed logins from a few addresses, and must not be able to log anyone out.
 * Alerts from older workers carry no holder score and decode with 0, so they never revoke. Off, alerts are
 * acknowledged and counted only.
 * An alert acts once (outcome `duplicate` after): when it revoked, its id is marked in Redis for
 * `dedupeWindowMs(OUTBOX_RETENTION)`, so the same alert read again — published again by analytics' relay after
 * Redis lost the stream, read back by a group created again (`replayMs`), redelivered after a crash — does
 * not log out the sessions the user opened since. When Redis lost the marker too (everything flushed, an
 * older snapshot restored) the alert revokes what is live then again: revoking is idempotent, and that errs
 * on the safe side (filtering by the alert's time instead would compare analytics' clock with the token
 * database's, and spare an attacker's session opened in the skew).
 */
export function riskAlertConsumer(opts: {
  redis: Redis
  stream: string
  threshold: number | undefined
  sessions: Pick<SessionUseCases, 'revokeUser'>
  /** The deployment's key marking an alert as acted on (storage/redis-keys.ts). */
  appliedKey: (alertId: string) => string
  /** OUTBOX_RETENTION in ms: how far back a group created again reads, and what the marker outlives. */
  retentionMs: number
  log: FastifyBaseLogger
  onOutcome: (outcome: RiskAlertOutcome) => void
}): Consumer {
  const log = opts.log.child({ component: 'risk-alerts' })
  return createConsumer<RiskAlert>({
    redis: opts.redis,
    stream: opts.stream,
    group: 'token-service',
    consumer: `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    decode: decodeAlert,
    startId: '$',
    replayMs: opts.retentionMs,
    isTransient: (err) => dependencyOf(err) !== undefined,
    logger: log,
    handler: async (batch) => {
      for (const { event } of batch) {
        if (opts.threshold === undefined) {
          opts.onOutcome('disabled')
          continue
        }
        const { score, holderScore } = event.data
        if (holderScore < opts.threshold) {
          const outcome = score >= opts.threshold ? 'stranger_only' : 'below_threshold'
          if (outcome === 'stranger_only')
            log.info(
              { userId: event.userId, score, holderScore },
              'risk alert: score from signals a stranger can cause; sessions kept',
            )
          opts.onOutcome(outcome)
          continue
        }
        const applied = opts.appliedKey(event.id)
        if ((await opts.redis.exists(applied)) === 1) {
          opts.onOutcome('duplicate')
          continue
        }
        const revoked = await opts.sessions.revokeUser(event.userId, 'risk', { ip: '', userAgent: null })
        // After the revocation committed: a failure in between delivers the alert again, and it acts then.
        await opts.redis.set(applied, '1', 'PX', dedupeWindowMs(opts.retentionMs))
        log.warn({ userId: event.userId, score, holderScore, revoked }, 'risk alert: revoked all sessions')
        opts.onOutcome('revoked')
      }
    },
  })
}
