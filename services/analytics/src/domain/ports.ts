import type { DurationStats } from './duration-stats.ts'
import type { DayTotals } from './report.ts'
import type { RiskEvent } from './risk-score.ts'

export type ActiveSessions = { sessions: number; users: number; byPlatform: Record<string, number> }

export type Completeness = { gaps: number; missingEvents: number; lastGapAt: Date | null }

export type StoredEventPage = { envelopes: string[]; next: { at: number; id: string } | null }

export type EventFilter = {
  /** One user's events, one client's (an address: IPv4 exactly, IPv6 by its /64), or both at once. */
  userId?: string | undefined
  ip?: string | undefined
  type?: string | undefined
  from?: Date | undefined
  to?: Date | undefined
  after?: { at: number; id: string } | undefined
  limit: number
}

/** Every stored event of one client: its accounts, logins and failures, first and last event. */
export type ClientActivity = {
  accounts: number
  logins: number
  failedLogins: number
  firstSeen: Date | null
  lastSeen: Date | null
  /** The accounts with the most failed logins first, at most the limit asked for. */
  users: { userId: string; failed: number; succeeded: number }[]
}

/**
 * What the read side needs from storage. Every method is a read of precomputed rows (the worker writes
 * them); none takes locks. Times are UTC instants.
 */
export interface AnalyticsStore {
  /** Sessions created and not ended at `now` (optionally one user's). */
  activeSessions(now: Date, userId?: string): Promise<ActiveSessions>
  /** Durations of the sessions active at any time in `[since, now]`. */
  sessionDurations(now: Date, since: Date, userId?: string): Promise<DurationStats>
  /** Events per daily metric (`refreshes`, `revocations`, …) that occurred in `[from, to)`. */
  metricTotals(from: Date, to: Date, userId?: string): Promise<Record<string, number>>
  /** Scoring facts of each user's events in `[from, to]`, time-ordered. */
  riskEvents(userIds: readonly string[], from: Date, to: Date): Promise<Map<string, RiskEvent[]>>
  /** Users whose stored score (at their latest event) is above `above`, latest event after `since`. */
  flaggedCandidates(above: number, since: Date, limit: number): Promise<string[]>
  dayTotals(day: string, suspiciousAbove: number): Promise<DayTotals>
  /** A user's or a client's events newest first (envelopes as JSON), with the position to continue from. */
  events(filter: EventFilter): Promise<StoredEventPage>
  /** Whether any event names the user: analytics knows a user from their events. */
  userSeen(userId: string): Promise<boolean>
  /** One client's activity over every stored event, at most `limit` accounts listed. */
  clientActivity(ip: string, limit: number): Promise<ClientActivity>
  completeness(): Promise<Completeness>
}
