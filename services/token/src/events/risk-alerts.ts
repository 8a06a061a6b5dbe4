import { hostname } from 'node:os'
import { type Consumer, createConsumer } from '@africhain/bus'
import { decodeAlert, type RiskAlert } from '@africhain/events'
import { dependencyOf } from '@africhain/http'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { SessionUseCases } from '../domain/use-cases/session-use-cases.ts'

/**
 * `stranger_only`: the full score reached the threshold but the holder score did not (failed logins and
 * other signals anyone can cause); `below_threshold`: neither did.
 */
export type RiskAlertOutcome = 'revoked' | 'stranger_only' | 'below_threshold' | 'disabled'

/**
 * Closes the loop with analytics: consumes `risk.alert` events in the token service's own consumer group.
 * With RISK_AUTO_REVOKE_SCORE set, an alert whose `holderScore` is at or above it revokes all the user's
 * sessions (reason `risk`, which is itself a `session.revoked` event). Never the full `score`: a stranger
 * can raise that with failed logins from a few addresses, and must not be able to log anyone out.
 * Alerts from older workers carry no holder score and decode with 0, so they never revoke. Off, alerts are
 * acknowledged and counted only. Revoking is idempotent (already revoked sessions are left alone, and
 * sessions opened after the alert was raised are never taken), so a redelivered alert is harmless.
 */
export function riskAlertConsumer(opts: {
  redis: Redis
  stream: string
  threshold: number | undefined
  sessions: Pick<SessionUseCases, 'revokeUser'>
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
        // Only sessions that existed when analytics raised the alert: the same alert delivered again (the
        // relay publishes it anew after Redis lost it) revokes nothing the first delivery did not.
        const raisedAt = new Date(event.occurredAt)
        const ctx = { ip: '', userAgent: null }
        const revoked = await opts.sessions.revokeUser(event.userId, 'risk', ctx, raisedAt)
        log.warn({ userId: event.userId, score, holderScore, revoked }, 'risk alert: revoked all sessions')
        opts.onOutcome('revoked')
      }
    },
  })
}
