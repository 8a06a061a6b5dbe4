import { retryOnDeadlock } from '@africhain/db'
import type { RevokeReason, SessionEvent } from '@africhain/events'
import { CompiledQuery, type InferResult, type Kysely, sql, type Transaction } from 'kysely'
import type { Rotation, Selection, SessionRecord, SessionStore } from '../domain/ports.ts'
import { compileWithOneParameter } from './compiled-query.ts'
import { insertOutbox } from './outbox.ts'
import { sessionOwners } from './session-owners.ts'
import { rolesOf, rotatedAgo, sessionWithUser, toFound, toSessionRecord } from './session-rows.ts'
import type { TokenDatabase } from './tables.ts'

/**
 * Sessions and the refresh-token chain in MySQL. Every method that changes state is one transaction that
 * also writes its events to the outbox; `afterCommit` wakes the relay.
 */
export function sessionRepository(
  db: Kysely<TokenDatabase>,
  afterCommit: () => void = () => {},
  /** A pool with `multipleStatements`: the rotation transaction in one round trip. */
  rotationDb: Kysely<TokenDatabase>,
): SessionStore {
  // Every refresh starts with this lookup: built and compiled once, each call only binds its hash (kysely
  // builds and compiles a query of this size in ~10 µs, the whole of that per request otherwise).
  const hashPlaceholder = Buffer.alloc(32)
  const byRefreshHash = sessionWithUser(db)
    .innerJoin('refresh_tokens as rt', 'rt.session_id', 's.id')
    .select('rt.generation as token_generation')
    .where('rt.hash', '=', hashPlaceholder)
  const byRefreshHashSql = compileWithOneParameter(byRefreshHash, hashPlaceholder)
  type ByRefreshHashRow = InferResult<typeof byRefreshHash>[number]
  const idPlaceholder = 'session-id-placeholder'
  const byId = sessionWithUser(db).where('s.id', '=', idPlaceholder)
  const byIdSql = compileWithOneParameter(byId, idPlaceholder)
  type ByIdRow = InferResult<typeof byId>[number]
  const known = sessionOwners()
  const remember = <T extends { session: SessionRecord; roles: string[] } | undefined>(found: T): T => {
    if (found) known.remember({ ...found.session, roles: found.roles })
    return found
  }
  return {
    async create(session: SessionRecord, events: SessionEvent[], passwordHash?: string) {
      const outcome = await db.transaction().execute(async (trx) => {
        // Locked: a disable or password change commits before (the login is refused) or waits for this
        // commit and then revokes this session too.
        const user = await trx
          .selectFrom('users')
          .select(['disabled_at', 'password_hash', 'roles'])
          .where('id', '=', session.userId)
          .forUpdate()
          .executeTakeFirst()
        if (!user || user.disabled_at !== null) return 'user_disabled' as const
        if (passwordHash !== undefined && user.password_hash !== passwordHash)
          return 'password_changed' as const
        await trx
          .insertInto('sessions')
          .values({
            id: session.id,
            user_id: session.userId,
            device_id: session.device.id ?? null,
            device_platform: session.device.platform,
            device_name: session.device.name ?? null,
            user_agent: session.userAgent,
            ip: session.ip,
            remember_me: session.rememberMe ? 1 : 0,
            created_at: session.createdAt,
            last_active_at: session.lastActiveAt,
            expires_at: session.expiresAt,
            revoked_at: null,
            revoked_reason: null,
            generation: session.generation,
            rotated_at: null,
            successor_enc: null,
            current_hash: session.currentHash,
            previous_hash: null,
          })
          .execute()
        await insertOutbox(trx, events, session.createdAt)
        return rolesOf(user.roles)
      })
      if (typeof outcome === 'string') return outcome
      known.remember({ ...session, roles: outcome })
      afterCommit()
      return 'created'
    },

    async findByRefreshHash(hash: Buffer) {
      const { rows } = await db.executeQuery<ByRefreshHashRow>(byRefreshHashSql(hash))
      const row = rows[0]
      if (!row) return undefined
      const { token_generation, ...rest } = row
      return remember({ ...toFound(rest), generation: token_generation })
    },

    async findWithUser(id: string) {
      const { rows } = await db.executeQuery<ByIdRow>(byIdSql(id))
      return remember(rows[0] ? toFound(rows[0]) : undefined)
    },

    known: (id: string) => known.get(id),

    async find(id: string) {
      const row = await db
        .selectFrom('sessions')
        .selectAll()
        .select(rotatedAgo.as('rotated_ago_ms'))
        .where('id', '=', id)
        .executeTakeFirst()
      return row ? toSessionRecord(row) : undefined
    },

    async rotate(r: Rotation) {
      // A deadlock with a racing revocation rolled our transaction back whole: the CAS runs again.
      const won = await retryOnDeadlock(() => rotateInOneRoundTrip(rotationDb, rotationStatement(r)))
      if (won === undefined) return undefined
      afterCommit()
      const roles = r.roles ?? rolesOf(won)
      known.refresh(r.sessionId, roles)
      return roles
    },

    async revoke(
      selection: Selection,
      reason: RevokeReason,
      now: Date,
      eventsFor: (session: SessionRecord) => SessionEvent[],
    ): Promise<SessionRecord[]> {
      if (selection.sessionIds?.length === 0) return []
      const revoked = await retryOnDeadlock(() =>
        db.transaction().execute((trx) => revokeInTransaction(trx, selection, reason, now, eventsFor)),
      )
      if (revoked.length > 0) afterCommit()
      return revoked
    },

    async revokeForAlert(
      alertId: string,
      selection: Selection,
      reason: RevokeReason,
      now: Date,
      eventsFor: (session: SessionRecord) => SessionEvent[],
    ): Promise<SessionRecord[] | undefined> {
      const revoked = await retryOnDeadlock(() =>
        db.transaction().execute(async (trx) => {
          // A second transaction inserting the same id waits on this one's key lock, then finds the row.
          const first = await trx
            .insertInto('risk_alerts_applied')
            .ignore()
            .values({ alert_id: alertId, applied_at: now })
            .executeTakeFirst()
          if (Number(first.numInsertedOrUpdatedRows) === 0) return undefined
          return revokeInTransaction(trx, selection, reason, now, eventsFor)
        }),
      )
      if (revoked && revoked.length > 0) afterCommit()
      return revoked
    },

    async listActive(userId: string, now: Date) {
      const rows = await db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('last_active_at', 'desc')
        .limit(500)
        .execute()
      return rows.map(toSessionRecord)
    },

    async appendEvents(events: SessionEvent[]): Promise<void> {
      await insertOutbox(db, events, new Date())
      afterCommit()
    },
  }
}

/**
 * The revocation inside the caller's transaction (`revoke` above, and account changes that revoke with
 * them): the selected live sessions locked, marked revoked, one set of events each. Returns them.
 */
export async function revokeInTransaction(
  trx: Transaction<TokenDatabase>,
  selection: Selection,
  reason: RevokeReason,
  now: Date,
  eventsFor: (session: SessionRecord) => SessionEvent[],
): Promise<SessionRecord[]> {
  let query = trx
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', selection.userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
  if (selection.sessionIds) query = query.where('id', 'in', selection.sessionIds)
  if (selection.exceptSessionId) query = query.where('id', '!=', selection.exceptSessionId)
  const rows = await query.forUpdate().execute()
  if (rows.length === 0) return []
  await trx
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where(
      'id',
      'in',
      rows.map((r) => r.id),
    )
    .execute()
  const sessions = rows.map(toSessionRecord)
  await insertOutbox(trx, sessions.flatMap(eventsFor), now)
  return sessions
}

type OkPacket = { affectedRows?: number }

/** MySQL's "Column cannot be null" (ER_BAD_NULL_ERROR): how the rotation learns that its CAS lost. */
const BAD_NULL = 1048

/**
 * The rotation as one transaction in one round trip (the hot path: a refresh waits on it), written once with
 * its parameters in order.
 *
 * The UPDATE is the compare-and-set: only one request can move the session off `fromGeneration`, and only
 * with the session's current token (its hash; a session no rotation of this release has touched has none
 * yet, and the caller judged its token by its row: migration 008), live, its user enabled, and bound to no
 * other device (compared bytewise: the
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
function rotationSql(checkRoles: boolean): string {
  // The user's roles while the user is enabled, else NULL (which equals nothing): a disable revokes the
  // user's live sessions, but only those live by the disabling instance's clock.
  const roles = '(select roles from users where id = ? and disabled_at is null)'
  return `start transaction;
  update sessions set generation = ?, rotated_at = utc_timestamp(3), successor_enc = ?, current_hash = ?,
    previous_hash = ?, last_active_at = ?, ip = ?, user_agent = ?
    where id = ? and generation = ? and (current_hash = ? or current_hash is null) and revoked_at is null
      and expires_at > ? and (device_id is null or cast(device_id as binary) = ?)
      and ${checkRoles ? `${roles} = ?` : `${roles} is not null`};
  insert into outbox (id, payload, created_at) values (?, ?, if(row_count() = 1, ?, null));
  ${checkRoles ? '' : `select ${roles} as roles;`}
  commit`
}
const ROTATION = { checked: rotationSql(true), read: rotationSql(false) }

function rotationStatement(r: Rotation): CompiledQuery {
  const text = r.roles ? ROTATION.checked : ROTATION.read
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
  if (parameters.length !== text.split('?').length - 1)
    throw new Error('the rotation binds one value per placeholder')
  return CompiledQuery.raw(text, parameters)
}

/**
 * Runs the rotation on one connection: when it won, the user's roles column as read (the empty string when
 * the rotation checked them instead); undefined when the CAS lost.
 */
async function rotateInOneRoundTrip(
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
