import type { Kysely } from 'kysely'
import { TYPE_METRICS } from '../domain/event-facts.ts'
import type { AnalyticsStore } from '../domain/ports.ts'
import { HOUR_MS } from '../domain/time.ts'
import { clientActivity } from './client.repository.ts'
import { countersBetween, dayTotals } from './counter.repository.ts'
import { countByType, listEvents, riskEventsIn, userSeen } from './event.repository.ts'
import { flaggedCandidates } from './risk.repository.ts'
import { activeSessions, sessionDurations } from './session.repository.ts'
import { gapSummary } from './stream-position.repository.ts'
import type { Database } from './tables.ts'

function asMetrics(byType: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [type, n] of Object.entries(byType)) {
    const metric = TYPE_METRICS[type as keyof typeof TYPE_METRICS]
    if (metric) out[metric] = (out[metric] ?? 0) + n
  }
  return out
}

function add(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a }
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n
  return out
}

/** The read side over the worker's tables. `stream` scopes the data-completeness figures. */
export function createAnalyticsStore(db: Kysely<Database>, stream: string): AnalyticsStore {
  return {
    activeSessions: (now, userId) => activeSessions(db, now, userId),
    sessionDurations: (now, since, userId) => sessionDurations(db, now, since, userId),

    async metricTotals(from, to, userId) {
      // One user's events are few: count them directly. System-wide, whole hours come from the hourly
      // counters and only the part of the first hour inside the window is counted in the event store.
      if (userId !== undefined) return asMetrics(await countByType(db, from, to, userId))
      const firstWholeHour = Math.ceil(from.getTime() / HOUR_MS) * HOUR_MS
      const lastHourEnd = Math.ceil(to.getTime() / HOUR_MS) * HOUR_MS
      const [whole, edge] = await Promise.all([
        countersBetween(db, new Date(firstWholeHour), new Date(lastHourEnd)),
        countByType(db, from, new Date(firstWholeHour)),
      ])
      return add(whole, asMetrics(edge))
    },

    riskEvents: (userIds, from, to) => riskEventsIn(db, userIds, from, to),

    async flaggedCandidates(above, since, limit) {
      return (await flaggedCandidates(db, above, since, limit)).map((r) => r.userId)
    },

    dayTotals: (day, suspiciousAbove) => dayTotals(db, day, suspiciousAbove),

    async events(filter) {
      const rows = await listEvents(db, {
        userId: filter.userId,
        ip: filter.ip,
        type: filter.type,
        from: filter.from,
        to: filter.to,
        cursor: filter.after,
        limit: filter.limit,
      })
      const page = rows.slice(0, filter.limit)
      const last = page[page.length - 1]
      return {
        envelopes: page.map((r) => r.envelope),
        next: rows.length > filter.limit && last ? { at: last.at, id: last.id } : null,
      }
    },

    userSeen: (userId) => userSeen(db, userId),
    clientActivity: (ip, limit) => clientActivity(db, ip, limit),
    completeness: () => gapSummary(db, stream),
  }
}
