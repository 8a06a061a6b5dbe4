import { CompiledQuery, type Kysely, sql } from 'kysely'
import type { Rotation } from '../domain/ports.ts'
import type { TokenDatabase } from './tables.ts'

// The refresh's rotation statement (session.repository.ts `rotate` runs it): one transaction, one round trip.

type OkPacket = { affectedRows?: number }

/** MySQL's "Column cannot be null" (ER_BAD_NULL_ERROR): how the rotation learns that its CAS lost. */
const BAD_NULL = 1048

/**
 * The rotation as one transaction in one round trip (the hot path: a refresh waits on it), written once with
 * its parameters in order.
 *
 * The UPDATE is the compare-and-set: only one request can move the session off `fromGeneration`, and only
 * with the session's current token (its hash; a session no rotation of this release has touched has none
 * yet: the statement accepts that only when the caller judged the token by its row, `matchedByRow`,
 * migration 008), live, its user enabled, and bound to no other device (compared bytewise: the
 * column's PAD SPACE collation would take 'phone ' for 'phone'); InnoDB re-checks the WHERE on the latest
 * committed row after waiting for a competing writer's lock. What follows must happen only when it won, and
 * is a plain `INSERT … VALUES` (an `INSERT … SELECT` from the row just written cost MariaDB ~100 µs more
 * per refresh: for the outbox it holds the table's AUTO-INC lock to the end of the statement). So the
 * statement after the UPDATE is the guard: the outbox row's `created_at` is `if(row_count() = 1, now, null)`,
 * and a NOT NULL column refuses a NULL in a single-row INSERT under every `sql_mode` (error 1048). A server
 * stops a multi-statement batch at its first error, so a lost CAS runs nothing after it; the transaction is
 * rolled back and `rotate` answers undefined. The user's roles (a role granted or removed reaches the next
 * access token) are either checked in the UPDATE against those the caller remembers (one statement less;
 * a change makes the CAS lose and the caller read the session) or read inside the transaction; the rest of
 * what the answer needs never changes while the session lives (session-owners.ts). Reading `users` inside
 * the UPDATE would lock its row under REPEATABLE READ: the rotation's pool runs READ COMMITTED
 * (plugins/connections.ts). No `refresh_tokens` row is written: the session row holds its current and
 * previous token hashes.
 */
function rotationSql(checkRoles: boolean, matchedByRow: boolean): string {
  // The user's roles while the user is enabled, else NULL (which equals nothing): a disable revokes the
  // user's live sessions, but only those live by the disabling instance's clock.
  const roles = '(select roles from users where id = ? and disabled_at is null)'
  return `start transaction;
  update sessions set generation = ?, rotated_at = utc_timestamp(3), successor_enc = ?, current_hash = ?,
    previous_hash = ?, last_active_at = ?, ip = ?, user_agent = ?
    where id = ? and generation = ? and ${matchedByRow ? '(current_hash = ? or current_hash is null)' : 'current_hash = ?'} and revoked_at is null
      and expires_at > ? and (device_id is null or cast(device_id as binary) = ?)
      and ${checkRoles ? `${roles} = ?` : `${roles} is not null`};
  insert into outbox (id, payload, created_at) values (?, ?, if(row_count() = 1, ?, null));
  ${checkRoles ? '' : `select ${roles} as roles;`}
  commit`
}
const compiled = (checkRoles: boolean, matchedByRow: boolean) => {
  const text = rotationSql(checkRoles, matchedByRow)
  return { text, parameters: text.split('?').length - 1 }
}
// By [roles checked][matched by row].
const ROTATION = [
  [compiled(false, false), compiled(false, true)],
  [compiled(true, false), compiled(true, true)],
] as const

export function rotationStatement(r: Rotation): CompiledQuery {
  const { text, parameters: expected } = ROTATION[r.roles ? 1 : 0][r.matchedByRow ? 1 : 0]
  const parameters = [
    r.fromGeneration + 1,
    r.successorEnc,
    r.newHash,
    r.presentedHash,
    r.now,
    r.ip,
    r.userAgent,
    r.sessionId,
    r.fromGeneration,
    r.presentedHash,
    r.now,
    r.presentedDeviceId ?? null,
    ...(r.roles ? [r.userId, r.roles.join(' ')] : [r.userId]),
    r.event.id,
    JSON.stringify(r.event),
    r.now,
    ...(r.roles ? [] : [r.userId]),
  ]
  if (parameters.length !== expected) throw new Error('the rotation binds one value per placeholder')
  return CompiledQuery.raw(text, parameters)
}

/**
 * Runs the rotation on one connection: when it won, the user's roles column as read (the empty string when
 * the rotation checked them instead); undefined when the CAS lost.
 */
export async function rotateInOneRoundTrip(
  db: Kysely<TokenDatabase>,
  statement: CompiledQuery,
): Promise<string | undefined> {
  return db.connection().execute(async (conn) => {
    try {
      const { rows } = await conn.executeQuery(statement)
      const [, update, outbox, selected] = rows as [OkPacket, OkPacket, OkPacket, unknown]
      if (update.affectedRows !== 1 || outbox.affectedRows !== 1)
        throw new Error('the rotation wrote an unexpected number of rows')
      if (!Array.isArray(selected)) return ''
      const roles = (selected as { roles: string | null }[])[0]?.roles
      if (typeof roles !== 'string') throw new Error("the rotation found no roles for the session's user")
      return roles
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => {})
      if (lostTheCas(err)) return undefined
      throw err
    }
  })
}

/** The guard's refusal (above): the outbox row's `created_at`, NULL because the UPDATE changed no row. */
function lostTheCas(err: unknown): boolean {
  const e = err as { errno?: unknown; message?: unknown }
  return e.errno === BAD_NULL && typeof e.message === 'string' && e.message.includes("'created_at'")
}
