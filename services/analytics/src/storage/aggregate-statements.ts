import type { CounterDelta } from '../domain/event-facts.ts'
import type { SessionDelta } from '../domain/session-delta.ts'
import { type Stmt, valuesList } from './ingest-script.ts'
import { ROWS_PER_STATEMENT, type StreamPosition } from './ingest-statements.ts'
import { chunks } from './sql-helpers.ts'
import { positionKey } from './stream-position.repository.ts'

/** The aggregate writes of an ingest transaction: session rows, day/hour counters, the stream position. */

const d = (ms: number | null) => (ms === null ? null : new Date(ms))

/**
 * Merges session deltas into their rows with the same commutative rules as `sessionDeltas`: creation
 * fields from the earliest creation (a tie to the smaller device key), the earliest revocation (ties broken by reason). Assignments run left
 * to right (MySQL, MariaDB, TiDB): each condition reads the stored value before the column it compares is
 * itself assigned, which is why `created_at`/`revoked_at` come last.
 */
export function upsertSessions(deltas: readonly SessionDelta[]): Stmt[] {
  const earlierCreation =
    '(values(created_at) is not null and (created_at is null or values(created_at) < created_at))'
  // A tie on created_at goes to the smaller device key, byte for byte as in `sessionDeltas` (hex: no
  // collation, no PAD SPACE). device_key is assigned after the columns whose condition reads it.
  const winningCreation = `(${earlierCreation} or (values(created_at) = created_at and hex(coalesce(values(device_key), '')) < hex(coalesce(device_key, ''))))`
  const earlierRevocation =
    '(values(revoked_at) is not null and (revoked_at is null or values(revoked_at) < revoked_at))'
  return chunks(deltas, ROWS_PER_STATEMENT).map((part) => {
    const v = valuesList(
      part.map((s) => [
        s.sessionId,
        s.userId,
        s.platform,
        s.deviceKey,
        s.rememberMe,
        d(s.createdAt),
        d(s.expiresAt),
        d(s.revokedAt),
        s.revokeReason,
      ]),
    )
    return {
      sql: `insert into analytics_sessions (session_id, user_id, platform, device_key, remember_me, created_at, expires_at, revoked_at, revoke_reason) values ${v} on duplicate key update
        user_id = coalesce(user_id, values(user_id)),
        platform = if(${winningCreation}, values(platform), platform),
        remember_me = if(${winningCreation}, values(remember_me), remember_me),
        expires_at = if(${winningCreation}, values(expires_at), expires_at),
        device_key = if(${winningCreation}, values(device_key), device_key),
        created_at = if(${earlierCreation}, values(created_at), created_at),
        revoke_reason = if(${earlierRevocation} or (values(revoked_at) = revoked_at and values(revoke_reason) < revoke_reason), values(revoke_reason), revoke_reason),
        revoked_at = if(${earlierRevocation}, values(revoked_at), revoked_at)`,
    }
  })
}

/** Day/hour counter sums of the batch, one upsert row per key, sorted (a fixed lock order between workers). */
export function addCounters(counters: readonly CounterDelta[]): Stmt[] {
  return chunks(counters, ROWS_PER_STATEMENT).map((part) => {
    const v = valuesList(part.map((c) => [c.day, c.hour, c.metric, c.count]))
    return {
      sql: `insert into analytics_counters (\`day\`, \`hour\`, metric, \`count\`) values ${v} on duplicate key update \`count\` = \`count\` + values(\`count\`)`,
    }
  })
}

/** Raises this consumer's committed position (one row per consumer: workers never contend on it). */
export function savePosition(p: StreamPosition, now: Date): Stmt {
  return {
    sql: `insert into analytics_stream_positions (stream, consumer, last_key, updated_at) values ${valuesList([[p.stream, p.consumer, positionKey(p.lastId), now]])} on duplicate key update last_key = greatest(last_key, values(last_key)), updated_at = values(updated_at)`,
  }
}
