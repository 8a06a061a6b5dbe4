/// <reference lib="es2024.string" />
import type { SessionEvent } from '@africhain/events'
import { utcDay, utcHour } from './time.ts'

/**
 * What the event store keeps next to each envelope, for indexes and scoring. Strings a client chooses (its
 * IP as forwarded, its device id and user agent) are made well-formed here, at the one place facts are made:
 * a lone surrogate becomes U+FFFD, as the utf8mb4 columns store it, so a key in memory (the sweep state)
 * and the same key read back from the event store are one key.
 */
export type EventFacts = {
  ip: string | null
  /** A device's identity: its id when it sent one, else platform and user agent. */
  deviceKey: string | null
  platform: string | null
  /** `session.revoked` reason or `login.failed` reason. */
  reason: string | null
}

export function deviceKeyOf(event: SessionEvent): string | null {
  if (!event.device) return null
  if (event.device.id) return `id:${event.device.id}`.toWellFormed()
  // Cut at 200 UTF-16 units (the column's size); half a surrogate pair at the cut becomes U+FFFD too.
  return `${event.device.platform}:${event.userAgent ?? ''}`.slice(0, 200).toWellFormed()
}

/**
 * The risk row key of a user id. Id columns compare with PAD SPACE (`utf8mb4_bin`): `'amina '` and
 * `'amina'` are one row to the database, so they are one user here too.
 */
export function userKey(userId: string): string {
  return userId.endsWith(' ') ? userId.replace(/ +$/, '') : userId
}

export function factsOf(event: SessionEvent): EventFacts {
  let reason: string | null = null
  if (event.type === 'session.revoked' || event.type === 'login.failed') reason = event.data.reason
  return {
    ip: event.ip?.toWellFormed() ?? null,
    deviceKey: deviceKeyOf(event),
    platform: event.device?.platform ?? null,
    reason,
  }
}

/** The daily total each event type adds one to. */
export const TYPE_METRICS: Record<SessionEvent['type'], string> = {
  'user.registered': 'registrations',
  'session.created': 'logins',
  'session.refreshed': 'refreshes',
  'session.revoked': 'revocations',
  'token.reuse_detected': 'reuse_detections',
  'session.device_mismatch': 'device_mismatches',
  'login.failed': 'failed_logins',
  'user.locked': 'lockouts',
  'user.unlocked': 'unlocks',
  'user.disabled': 'disables',
  'user.enabled': 'enables',
  'user.password_changed': 'password_changes',
  'abuse.rate_limited': 'rate_limited',
}

/**
 * Daily counters an event adds one to, by metric name: `events` (the report's hourly activity), its type's
 * total, and a breakdown (logins by platform, revocations by reason). Counting is commutative, so arrival
 * order cannot change a total.
 */
export function metricsOf(event: SessionEvent): string[] {
  const metrics = ['events', TYPE_METRICS[event.type]]
  if (event.type === 'session.created') metrics.push(`logins.platform.${event.device?.platform ?? 'unknown'}`)
  else if (event.type === 'session.revoked') metrics.push(`revocations.reason.${event.data.reason}`)
  return metrics
}

export type CounterDelta = { day: string; hour: number; metric: string; count: number }

/** Sums the counters of many events, sorted by key (a fixed lock order for the upsert). */
export function counterDeltas(events: readonly SessionEvent[]): CounterDelta[] {
  const sums = new Map<string, CounterDelta>()
  for (const event of events) {
    const at = Date.parse(event.occurredAt)
    const day = utcDay(at)
    const hour = utcHour(at)
    for (const metric of metricsOf(event)) {
      const key = `${day}|${String(hour).padStart(2, '0')}|${metric}`
      const row = sums.get(key)
      if (row) row.count++
      else sums.set(key, { day, hour, metric, count: 1 })
    }
  }
  return [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row)
}
