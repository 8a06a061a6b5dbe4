import type { ColumnType, Generated } from 'kysely'

/** DATETIME(3) in UTC: written as a Date, read as a Date. */
type Timestamp = ColumnType<Date, Date, Date>
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>
/** DATE, compared and written as `YYYY-MM-DD` (never selected: mysql2 would return a Date). */
type Day = string

/**
 * Every event once, unique on (bucket, envelope id) — the bucket is a function of the event's user, so a
 * redelivery has the same key: the idempotency record and the source of every score.
 */
export interface EventTable {
  /** `eventBucket` (domain/partition.ts): ingest parts append to their own buckets' ends of the key. */
  bucket: number
  id: string
  type: string
  occurred_at: Timestamp
  user_id: string | null
  session_id: string | null
  ip: string | null
  device_key: string | null
  reason: string | null
  /** The envelope's fields not in the columns above (JSON; see domain/stored-envelope.ts), for /analytics/events. */
  envelope: string
  /** Random per ingest transaction: tells the rows this transaction inserted from earlier duplicates. */
  ingest_token: string
  /** Virtual: the client of `ip` (IPv4, or IPv6 /64) as bytes; migration 008. Never written. */
  client_net: ColumnType<Uint8Array | null, never, never>
}

/** One row per session, merged from its events (see domain/session-delta.ts). */
export interface SessionTable {
  session_id: string
  user_id: string | null
  platform: string | null
  device_key: string | null
  remember_me: boolean | null
  created_at: NullableTimestamp
  expires_at: NullableTimestamp
  revoked_at: NullableTimestamp
  revoke_reason: string | null
  /** Generated: the earlier of revocation and expiry. Active means `created_at` set and `ends_at > now`. */
  ends_at: ColumnType<Date | null, never, never>
}

/** Per UTC day and hour, how many events of each metric (see domain/event-facts.ts). */
export interface CounterTable {
  day: Day
  hour: number
  metric: string
  count: number
}

/** Users seen per day, with the highest risk score at any of their events that day. */
export interface UserDayTable {
  day: Day
  user_id: string
  max_score: number
}

/** Per user: the score at their latest event, and whether an alert is out for the current crossing. */
export interface UserRiskTable {
  user_id: string
  score: Generated<number>
  /** With `score`: its holder-events-only part while suspicious, else 0 (domain/user-rescore.ts); migration 007. */
  holder_score: Generated<number>
  /** JSON array of factors. */
  factors: Generated<string>
  evaluated_at: NullableTimestamp
  last_event_at: NullableTimestamp
  alerted: Generated<boolean>
  alerted_at: NullableTimestamp
  /** The window as of `last_event_at` (domain/sweep-state.ts, JSON); NULL until the first batch after migration 012. */
  sweep: string | null
  /** Lower bounds of the user's latest day maxima in analytics_user_days (domain/day-bounds.ts); NULL: none. */
  day_bounds: string | null
}

/** risk.alert events written with the state change, published to ALERTS_STREAM after commit. */
export interface AlertOutboxTable {
  id: string
  user_id: string
  score: number
  /** The RiskAlert envelope (JSON). */
  payload: string
  created_at: Timestamp
  published_at: NullableTimestamp
  /** The XADD's stream id as `sortableStreamId` text; null until published (or published before 010). */
  stream_key: ColumnType<string | null, never, string | null>
}

/** Leases of the workers' singletons (the alert relay): one holder at a time, until `expires_at` (UTC). */
export interface LeaseTable {
  name: string
  holder: string
  expires_at: Timestamp
}

/** Per stream and consumer: the highest entry id committed, as a sortable key (see stream-position.ts). */
export interface StreamPositionTable {
  stream: string
  consumer: string
  last_key: string
  updated_at: Timestamp
}

/** Stretches of a stream the workers never saw (trimmed or lost before they were read). */
export interface StreamGapTable {
  stream: string
  from_id: string
  to_id: string | null
  missing: number | null
  kind: string
  detected_at: Timestamp
  updated_at: Timestamp
}

/** A (hook, alert) pair a webhook accepted (migration 011). */
export interface NotifierDeliveryTable {
  hook: string
  alert_id: string
  delivered_at: Timestamp
}

export interface Database {
  analytics_events: EventTable
  analytics_sessions: SessionTable
  analytics_counters: CounterTable
  analytics_user_days: UserDayTable
  analytics_user_risk: UserRiskTable
  analytics_alert_outbox: AlertOutboxTable
  analytics_stream_positions: StreamPositionTable
  analytics_stream_gaps: StreamGapTable
  analytics_leases: LeaseTable
  analytics_notifier_deliveries: NotifierDeliveryTable
}
