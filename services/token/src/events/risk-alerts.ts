import { hostname } from 'node:os'
import { type Consumer, createConsumer, dedupeWindowMs } from '@africhain/bus'
import { decodeAlert, type RiskAlert } from '@africhain/events'
import { dependencyOf } from '@africhain/http'
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { SessionUseCases } from '../domain/use-cases/session-use-cases.ts'
import type { RiskAlertRecords } from '../storage/risk-alert-records.ts'

/**
 * `stranger_only`: the full score reached the threshold but the holder score did not (failed logins and
 * other signals anyone can cause); `below_threshold`: neither did; `no_sessions`: it would have revoked but
 * the user had no live session; `stale`: it would have revoked but occurred before the dedupe window, where
 * the record that it already acted may have been pruned, so it does not act; `future`: it would have revoked
 * but is stamped later than now plus `ALERT_CLOCK_TOLERANCE_MS` (analytics' clock far ahead, or a forged
 * time): accepted, it could outlive its record and act again, so it does not act.
 */
export type RiskAlertOutcome =
  | 'revoked'
  | 'no_sessions'
  | 'duplicate'
  | 'stale'
  | 'future'
  | 'stranger_only'
  | 'below_threshold'
  | 'disabled'

/**
 * How far ahead of this service's clock an alert's `occurredAt` may be. Records are pruned this much later
 * than the dedupe window, so an alert that was applied (stamped at most this far ahead) has become `stale`
 * before its record can be gone: a record is missing only for alerts that never act again.
 */
export const ALERT_CLOCK_TOLERANCE_MS = 5 * 60_000

/** The consumer group of every token instance: one delivery per alert per deployment. */
export const RISK_ALERT_GROUP = 'token-service'

/**
 * Closes the loop with analytics: consumes `risk.alert` events in the token service's own consumer group.
 * With RISK_AUTO_REVOKE_SCORE set, an alert whose `holderScore` is at or above it revokes all the user's
 * sessions (reason `risk`, which is itself a `session.revoked` event). Never the full `score`: a stranger
 * can raise that with failed logins from a few addresses, and must not be able to log anyone out.
 * Alerts from older workers carry no holder score and decode with 0, so they never revoke. Off, alerts are
 * acknowledged and counted only.
 * An alert acts once, whatever Redis loses: its id is recorded in the token database in the transaction
 * that revokes (`SessionStore.revokeForAlert`), so the same alert read again — published again by analytics'
 * relay after Redis lost the stream, read back by a group created again (`replayMs`), redelivered after a
 * crash, claimed by another instance — is outcome `duplicate` and spares the sessions opened since.
 * The group is recorded in the database too: missing when the service starts (Redis lost it during a
 * deploy or a reboot), it was lost, not new, and reads back `replayMs` like one that went missing while
 * running, instead of starting at `$` past the alerts the relay published again.
 */
export function riskAlertConsumer(opts: {
  redis: Redis
  stream: string
  threshold: number | undefined
  sessions: Pick<SessionUseCases, 'revokeForAlert'>
  records: RiskAlertRecords
  /** OUTBOX_RETENTION in ms: how far back a group created again reads. */
  retentionMs: number
  log: FastifyBaseLogger
  onOutcome: (outcome: RiskAlertOutcome) => void
}): Consumer {
  const log = opts.log.child({ component: 'risk-alerts' })
  // The group exists for this deployment once created or read from (a deployment older than the record).
  let groupRecorded = false
  const recordGroup = async () => {
    if (groupRecorded) return
    await opts.records.recordGroup(RISK_ALERT_GROUP, new Date())
    groupRecorded = true
  }
  return createConsumer<RiskAlert>({
    redis: opts.redis,
    stream: opts.stream,
    group: RISK_ALERT_GROUP,
    consumer: `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    decode: decodeAlert,
    startId: '$',
    replayMs: opts.retentionMs,
    ranBefore: () => opts.records.hadGroup(RISK_ALERT_GROUP),
    hooks: { onGroupCreated: recordGroup },
    isTransient: (err) => dependencyOf(err) !== undefined,
    logger: log,
    handler: async (batch) => {
      await recordGroup()
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
        // Records of applied alerts are kept for as long as an alert can be read again (the relay publishes
        // it again for up to its retention, a stopped consumer's pending entries wait for its return) and
        // pruned past that. An alert that occurred before then may have acted and lost its record: it never
        // revokes (an unreadable time counts as before).
        const now = Date.now()
        const horizon = now - dedupeWindowMs(opts.retentionMs)
        const occurredAt = Date.parse(event.occurredAt)
        if (occurredAt > now + ALERT_CLOCK_TOLERANCE_MS) {
          log.warn(
            { alertId: event.id, userId: event.userId, occurredAt: event.occurredAt },
            'risk alert stamped later than the clock tolerance allows: sessions kept',
          )
          opts.onOutcome('future')
          continue
        }
        if (!(occurredAt >= horizon)) {
          log.warn(
            { alertId: event.id, userId: event.userId, occurredAt: event.occurredAt },
            'risk alert older than the dedupe window: sessions kept',
          )
          opts.onOutcome('stale')
          continue
        }
        const revoked = await opts.sessions.revokeForAlert(event.id, event.userId, {
          ip: '',
          userAgent: null,
        })
        if (revoked === 'duplicate') {
          opts.onOutcome('duplicate')
          continue
        }
        if (revoked === 0) {
          log.info({ userId: event.userId, score, holderScore }, 'risk alert: the user has no live session')
          opts.onOutcome('no_sessions')
        } else {
          log.warn({ userId: event.userId, score, holderScore, revoked }, 'risk alert: revoked all sessions')
          opts.onOutcome('revoked')
        }
        await opts.records.pruneApplied(new Date(horizon - ALERT_CLOCK_TOLERANCE_MS))
      }
    },
  })
}
