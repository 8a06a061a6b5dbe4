import { type Kysely, type Selectable, sql } from 'kysely'
import type { SessionRecord } from '../domain/ports.ts'
import type { SessionTable, TokenDatabase } from './tables.ts'

// How session rows are read and turned into the domain's records (session.repository.ts).

/**
 * Milliseconds since the session last rotated, by the database's clock (`rotated_at` is written with it
 * too): the grace window is judged on one clock for every instance, so a skewed instance neither refuses a
 * legitimate retry as reuse nor stretches the window for a thief.
 */
export const rotatedAgo = sql<
  number | null
>`timestampdiff(microsecond, rotated_at, utc_timestamp(3)) div 1000`

export function toSessionRecord(
  row: Selectable<SessionTable> & { rotated_ago_ms?: number | string | null },
): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    device: {
      ...(row.device_id !== null ? { id: row.device_id } : {}),
      platform: row.device_platform,
      ...(row.device_name !== null ? { name: row.device_name } : {}),
    },
    userAgent: row.user_agent,
    ip: row.ip,
    rememberMe: Boolean(row.remember_me),
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    generation: row.generation,
    rotatedAt: row.rotated_at,
    rotatedAgoMs:
      row.rotated_ago_ms === null || row.rotated_ago_ms === undefined ? null : Number(row.rotated_ago_ms),
    successorEnc: row.successor_enc,
    currentHash: row.current_hash,
    previousHash: row.previous_hash,
  }
}

/** A session with its user's roles and disabled mark, in one query (the refresh reads them together). */
export function sessionWithUser(db: Kysely<TokenDatabase>) {
  return db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .selectAll('s')
    .select(['u.roles as user_roles', 'u.disabled_at as user_disabled_at', rotatedAgo.as('rotated_ago_ms')])
}

export function toFound(
  row: Selectable<SessionTable> & {
    user_roles: string
    user_disabled_at: Date | null
    rotated_ago_ms: unknown
  },
) {
  const { user_roles, user_disabled_at, rotated_ago_ms, ...session } = row
  // Roles are read at every refresh (one query with the session), so a granted or removed role
  // reaches the user's next access token.
  return {
    session: toSessionRecord({ ...session, rotated_ago_ms: rotated_ago_ms as number | null }),
    roles: rolesOf(user_roles),
    disabled: user_disabled_at !== null,
  }
}

/** The `users.roles` column (space-separated) as a list. */
export const rolesOf = (column: string): string[] => column.split(' ').filter(Boolean)
