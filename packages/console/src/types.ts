/** Response shapes of the token and analytics APIs the console reads (docs/api.md). */

export type Me = { userId: string; sessionId: string; roles: string[] }

export type UserProfile = {
  userId: string
  identifier: string
  displayName: string | null
  roles: string[]
  createdAt: string
  locked: boolean
  disabled: boolean
}

export type AdminSession = {
  sessionId: string
  current?: boolean
  device: { id?: string; platform?: string; name?: string; userAgent?: string }
  ip: string
  createdAt: string
  lastActiveAt: string
  expiresAt: string
}

export type UserDetail = UserProfile & { sessions: AdminSession[] }

export type Durations = { average: number; median: number; max: number }

export type Completeness = {
  complete: boolean
  gaps: number
  missingEvents: number
  lastGapAt: string | null
}

export type SessionAnalytics = {
  totalActiveSessions: number
  userActiveSessions: number
  deviceBreakdown: Record<string, number>
  sessionDuration: Durations
  securityEvents: { tokenRefreshes: number; tokenRevocations: number; suspiciousActivity: number }
  generatedAt: string
  dataCompleteness?: Completeness
}

export type RiskFactor = { code: string; points: number; detail?: Record<string, unknown> }

export type RiskAssessment = {
  userId: string
  riskScore: number
  suspicious: boolean
  holderScore?: number
  factors: RiskFactor[]
  recommendations: string[]
  evaluatedAt: string
}

export type SessionEvent = {
  id: string
  type: string
  occurredAt: string
  userId?: string | null
  sessionId?: string | null
  ip?: string | null
  userAgent?: string | null
  device?: { id?: string; platform?: string; name?: string } | null
  data?: Record<string, unknown>
}

export type EventPage = { events: SessionEvent[]; nextCursor: string | null }

export type Change = { previous: number; change: number; changePercent: number | null }

/** The event types the daily report counts per hour. */
export type HourlyType = 'logins' | 'failedLogins' | 'refreshes' | 'revocations' | 'reuseDetections'

export type DailyReport = {
  date: string
  logins: number
  failedLogins: number
  uniqueUsers: number
  refreshes: number
  revocations: { total: number; byReason: Record<string, number> }
  reuseDetections: number
  deviceMismatches?: number
  registrations?: number
  suspiciousUsers: number
  deviceBreakdown: Record<string, number>
  hourly: number[]
  /** Per UTC hour by type (an addition of this service beyond the v2 contract, docs/api.md). */
  hourlyByType: Record<HourlyType, number[]>
  comparedToPreviousDay: Record<string, Change | string> & { date: string }
  generatedAt: string
}

export type IpSummary = {
  ip: string
  label?: string
  accounts: number
  logins: number
  failedLogins: number
  firstSeen: string | null
  lastSeen: string | null
  users: { userId: string; failed: number; succeeded: number }[]
}

/** What the stream gauges on /metrics say about the worker (absent when the scrape could not read them). */
export type PipelineHealth = { lag?: number; lagSeconds?: number; pending?: number; deadLetters?: number }
