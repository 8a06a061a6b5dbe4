import type { ColumnType, Generated } from 'kysely'

/** The token service's tables: MySQL/MariaDB/TiDB is the system of record for all of them. */

export type UserTable = {
  id: string
  identifier: string
  password_hash: string
  display_name: string | null
  /** Space-separated role names (`user`, `security`, `admin`). */
  roles: string
  created_at: ColumnType<Date, Date, never>
  /** Set while an administrator has the account disabled (migration 004): login and refresh refused. */
  disabled_at: Date | null
}

export type SessionTable = {
  id: string
  user_id: string
  device_id: string | null
  device_platform: string
  device_name: string | null
  user_agent: string | null
  ip: string
  remember_me: number
  created_at: ColumnType<Date, Date, never>
  last_active_at: Date
  expires_at: ColumnType<Date, Date, never>
  revoked_at: Date | null
  revoked_reason: string | null
  /** Position of the current refresh token in the rotation chain; rotation is a CAS on this column. */
  generation: number
  rotated_at: Date | null
  /** The current refresh token encrypted under a key derived from the previous one (grace-window replays). */
  successor_enc: string | null
  /** SHA-256 of the current refresh token (migration 008): the rotation's compare-and-set checks it. */
  current_hash: Buffer | null
  /** SHA-256 of the previous refresh token (migration 005; whatever its shape since 008): the grace window. */
  previous_hash: Buffer | null
}

export type RefreshTokenTable = {
  /** SHA-256 of the refresh token; the token itself is never stored. */
  hash: Buffer
  session_id: string
  generation: number
  created_at: ColumnType<Date, Date, never>
  /** 1 for a signed token (migration 005): rotation may delete it once two generations old. */
  signed: ColumnType<number, number | undefined, number>
}

export type TokenSecretTable = {
  name: string
  /** Sealed like a private signing key (`v1:` under KEY_ENCRYPTION_SECRET, or `pem:` in clear). */
  value: string
  created_at: ColumnType<Date, Date, never>
}

export type SigningKeyTable = {
  kid: string
  alg: string
  public_jwk: string
  /** `pem:<PEM>` in clear, or `v1:<base64url iv|ciphertext|tag>` under KEY_ENCRYPTION_SECRET. */
  private_key: string
  created_at: ColumnType<Date, Date, never>
  activates_at: Date
}

export type OutboxTable = {
  id: string
  payload: string
  created_at: ColumnType<Date, Date, never>
  seq: Generated<number>
  /** The XADD's stream id as `sortableStreamId` text; null until published. */
  stream_key: ColumnType<string | null, never, string | null>
  published_at: ColumnType<Date | null, never, Date | null>
}

export type DeploymentTable = {
  /** Random, made at the first migration: names this deployment's coordination keys in Redis. */
  id: string
  created_at: ColumnType<Date, Date, never>
}

/** An alert that revoked (migration 007): read again, it revokes nothing. */
export type RiskAlertAppliedTable = {
  alert_id: string
  applied_at: Date
}

/** A consumer group this deployment created or read from (migration 007). */
export type ConsumerGroupTable = {
  name: string
  created_at: ColumnType<Date, Date, never>
}

export type TokenDatabase = {
  deployment: DeploymentTable
  users: UserTable
  sessions: SessionTable
  refresh_tokens: RefreshTokenTable
  signing_keys: SigningKeyTable
  outbox: OutboxTable
  token_secrets: TokenSecretTable
  risk_alerts_applied: RiskAlertAppliedTable
  consumer_groups: ConsumerGroupTable
}
