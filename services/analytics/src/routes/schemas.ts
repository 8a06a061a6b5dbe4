import { EventType, RiskFactor, SessionEvent, type SessionEvent as SessionEventType } from '@africhain/events'
import { component } from '@africhain/http'
import { Type } from 'typebox'
import { EXACT_MEDIAN_LIMIT } from '../domain/duration-stats.ts'

/** Request and response schemas of the analytics API: one per concept (docs/api.md; the contract fixes the fields). */

export const bearer = [{ bearer: [] }]

const UserId = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'security/admin only, for another user',
})

export const NoQuery = Type.Object({}, { additionalProperties: false })

export const UserQuery = Type.Object({ userId: Type.Optional(UserId) }, { additionalProperties: false })

export const EventsQuery = Type.Object(
  {
    userId: Type.Optional(UserId),
    ip: Type.Optional(
      Type.String({
        minLength: 2,
        maxLength: 64,
        description: 'security/admin only: events from this client (IPv4, or IPv6 by its /64)',
      }),
    ),
    type: Type.Optional(EventType),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive, ISO-8601 with offset' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'exclusive, ISO-8601 with offset' })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'events per page' }),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
)

export const FlaggedQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'users at most' }) },
  { additionalProperties: false },
)

export const ReportQuery = Type.Object(
  {
    date: Type.Optional(
      Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'UTC day, default today' }),
    ),
  },
  { additionalProperties: false },
)

const Counts = Type.Record(Type.String(), Type.Integer())

export const DurationStats = Type.Object(
  { average: Type.Number(), median: Type.Number(), max: Type.Number() },
  {
    description: `Seconds from creation to end (or now while active), sessions active in the last 24 hours. Median exact up to ${EXACT_MEDIAN_LIMIT} sessions, else from a log-scale histogram (error < 1.1 %).`,
  },
)

const SecurityEvents = {
  tokenRefreshes: Type.Integer(),
  tokenRevocations: Type.Integer(),
  suspiciousActivity: Type.Integer({ description: 'token reuse detections and device mismatches' }),
}

export const DataCompleteness = Type.Object(
  {
    complete: Type.Boolean(),
    gaps: Type.Integer(),
    missingEvents: Type.Integer(),
    lastGapAt: Type.Union([Type.String(), Type.Null()]),
  },
  { description: 'Stream entries lost before any worker read them (trimmed or lost with Redis data)' },
)

export const SessionAnalytics = Type.Object({
  totalActiveSessions: Type.Integer({ description: 'sessions neither revoked nor past their expiresAt' }),
  userActiveSessions: Type.Integer({ description: 'users with at least one active session' }),
  deviceBreakdown: Type.Record(Type.String(), Type.Integer(), {
    description: 'active sessions by device platform',
    examples: [{ android: 12, web: 3 }],
  }),
  sessionDuration: DurationStats,
  securityEvents: Type.Object(SecurityEvents, { description: 'last 24 hours' }),
  generatedAt: Type.String({ format: 'date-time' }),
  dataCompleteness: DataCompleteness,
})

export const UserAnalytics = Type.Object({
  userId: Type.String(),
  activeSessions: Type.Integer(),
  deviceBreakdown: Counts,
  sessionDuration: DurationStats,
  securityEvents: Type.Object(
    { ...SecurityEvents, failedLogins: Type.Integer() },
    { description: 'last 24 hours' },
  ),
  riskScore: Type.Integer(),
  suspicious: Type.Boolean(),
  generatedAt: Type.String(),
})

export const RiskAssessment = Type.Object({
  userId: Type.String(),
  riskScore: Type.Integer({ minimum: 0, maximum: 100 }),
  suspicious: Type.Boolean(),
  holderScore: Type.Integer({
    minimum: 0,
    maximum: 100,
    description:
      'Beyond the contract: the same table counting only what someone holding the password or a token of the user produced (no failed logins or other signals a stranger can cause); RISK_AUTO_REVOKE_SCORE is compared with it',
  }),
  factors: Type.Array(RiskFactor),
  recommendations: Type.Array(Type.String()),
  evaluatedAt: Type.String(),
})

/** Components, registered once (`app.addSchema`) by the routes plugin that answers with them. */
export const RiskAssessmentComponent = component('RiskAssessment', RiskAssessment)
export const SessionEventComponent = component(
  'SessionEvent',
  Type.Unsafe<SessionEventType>({
    ...SessionEvent,
    description: 'A session event as the token service emitted it (`type` tells which `data` it carries)',
  }),
)

export const FlaggedUsers = Type.Object({
  users: Type.Array(RiskAssessmentComponent.ref, { description: 'highest score first' }),
  generatedAt: Type.String(),
})

export const EventPage = Type.Object({
  events: Type.Array(SessionEventComponent.ref, { description: 'newest first' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: 'pass as `cursor` for the next page; null on the last page',
  }),
})

const Change = Type.Object({
  previous: Type.Integer(),
  change: Type.Integer(),
  changePercent: Type.Union([Type.Number(), Type.Null()]),
})

const Hours = (description: string) => Type.Array(Type.Integer(), { minItems: 24, maxItems: 24, description })

export const DailyReport = Type.Object({
  date: Type.String(),
  logins: Type.Integer(),
  failedLogins: Type.Integer(),
  uniqueUsers: Type.Integer(),
  refreshes: Type.Integer(),
  revocations: Type.Object({ total: Type.Integer(), byReason: Counts }),
  reuseDetections: Type.Integer(),
  deviceMismatches: Type.Integer(),
  registrations: Type.Integer(),
  suspiciousUsers: Type.Integer({
    description: 'users whose score at one of their events that day was suspicious',
  }),
  deviceBreakdown: Counts,
  hourly: Hours('events per UTC hour'),
  hourlyByType: Type.Object(
    {
      logins: Hours('sessions created per UTC hour'),
      failedLogins: Hours('failed logins per UTC hour'),
      refreshes: Hours('refreshes per UTC hour'),
      revocations: Hours('sessions revoked per UTC hour'),
      reuseDetections: Hours('refresh token reuse detections per UTC hour'),
    },
    {
      description: 'per-type counts per UTC hour (an addition beyond the v2 contract; `hourly` is unchanged)',
    },
  ),
  comparedToPreviousDay: Type.Object({
    date: Type.String(),
    logins: Change,
    failedLogins: Change,
    uniqueUsers: Change,
    refreshes: Change,
    revocations: Change,
    reuseDetections: Change,
    suspiciousUsers: Change,
  }),
  generatedAt: Type.String(),
})
