import { hostname } from 'node:os'
import { type Consumer, createConsumer } from '@africhain/bus'
import { decodeAlert, type RiskAlert } from '@africhain/events'
import { dependencyOf } from '@africhain/http'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { SessionService } from '../domain/sessions.ts'

export type RiskAlertOutcome = 'revoked' | 'below_threshold' | 'disabled'

/**
 * Closes the loop with analytics: consumes `risk.alert` events in the token service's own consumer group.
 * With RISK_AUTO_REVOKE_SCORE set, an alert at or above it revokes all the user's sessions (reason `risk`,
 * which is itself a `session.revoked` event). Off, alerts are acknowledged and counted only.
 * Revoking is idempotent (already revoked sessions are left alone), so a redelivered alert is harmless.
 */
export function riskAlertConsumer(opts: {
  redis: Redis
  stream: string
  threshold: number | undefined
  sessions: SessionService
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
        if (event.data.score < opts.threshold) {
          opts.onOutcome('below_threshold')
          continue
        }
        const revoked = await opts.sessions.revokeUser(event.userId, 'risk', { ip: '', userAgent: null })
        log.warn(
          { userId: event.userId, score: event.data.score, revoked },
          'risk alert: revoked all sessions',
        )
        opts.onOutcome('revoked')
      }
    },
  })
}
