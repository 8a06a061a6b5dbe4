import { retryOnDeadlock } from '@africhain/db'
import type { RevokeReason, SessionEvent } from '@africhain/events'
import { type Kysely, type Selectable, sql, type Transaction } from 'kysely'
import type { Rotation, SessionRecord, SessionStore } from '../domain/ports.ts'
import { insertOutbox } from './outbox.ts'
import type { SessionTable, TokenDatabase } from './tables.ts'

/**
 * Milliseconds since the session last rotated, by the database's clock (`rotated_at` is written with it
 * too): the grace window is judged on one clock for every instance, so a skewed instance neither refuses a
 * legitimate retry as reuse nor stretches the window for a thief.
 */
const rotatedAgo = sql<number | null>`timestampdiff(microsecond, rotated_at, utc_timestamp(3)) div 1000`

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
  }
}

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
  return {
    async create(session: SessionRecord, refreshHash: Buffer, events: SessionEvent[], passwordHash?: string) {
      const outcome = await db.transaction().execute(async (trx) => {
        // Locked: a disable or password change commits before (the login is refused) or waits for this
        // commit and then revokes this session too.
        const user = await trx
          .selectFrom('users')
          .select(['disabled_at', 'password_hash'])
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
          })
          .execute()
        await trx
          .insertInto('refresh_tokens')
          .values({
            hash: refreshHash,
            session_id: session.id,
            generation: session.generation,
            created_at: session.createdAt,
          })
          .execute()
        await insertOutbox(trx, events, session.createdAt)
        return 'created' as const
      })
      if (outcome === 'created') afterCommit()
      return outcome
    },

    async findByRefreshHash(hash: Buffer) {
      const row = await db
        .selectFrom('refresh_tokens as rt')
        .innerJoin('sessions as s', 's.id', 'rt.session_id')
        .innerJoin('users as u', 'u.id', 's.user_id')
        .selectAll('s')
        .select([
          'rt.generation as token_generation',
          'u.roles as user_roles',
          'u.disabled_at as user_disabled_at',
          rotatedAgo.as('rotated_ago_ms'),
        ])
        .where('rt.hash', '=', hash)
        .executeTakeFirst()
      if (!row) return undefined
      const { token_generation, user_roles, user_disabled_at, ...session } = row
      // Roles are read at every refresh (one query with the session), so a granted or removed role
      // reaches the user's next access token.
      return {
        session: toSessionRecord(session),
        generation: token_generation,
        roles: user_roles.split(' ').filter(Boolean),
        disabled: user_disabled_at !== null,
      }
    },

    async find(id: string) {
      const row = await db
        .selectFrom('sessions')
        .selectAll()
        .select(rotatedAgo.as('rotated_ago_ms'))
        .where('id', '=', id)
        .executeTakeFirst()
      return row ? toSessionRecord(row) : undefined
    },

    async rotate(r: Rotation): Promise<boolean> {
      // A deadlock with a racing revocation rolled our transaction back whole: the CAS runs again.
      const won = await retryOnDeadlock(() => rotateInOneRoundTrip(rotationDb, r))
      if (won) afterCommit()
      return won
    },

    async revoke(
      selection: { userId: string; sessionIds?: string[]; exceptSessionId?: string },
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
  selection: { userId: string; sessionIds?: string[]; exceptSessionId?: string },
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

/**
 * The rotation as one transaction in one round trip (the hot path: a refresh waits on it). The UPDATE is the
 * compare-and-set — only one request can move the session off `fromGeneration`; InnoDB re-checks the WHERE on
 * the latest committed row after waiting for a competing writer's lock. The two INSERTs select from the row
 * this request just wrote (its generation and its own sealed successor), so they insert nothing when the
 * UPDATE lost. Any error rolls back on the same connection before it returns to the pool.
 */
async function rotateInOneRoundTrip(db: Kysely<TokenDatabase>, r: Rotation): Promise<boolean> {
  const next = r.fromGeneration + 1
  const ours = sql`from sessions where id = ${r.sessionId} and generation = ${next} and successor_enc = ${r.successorEnc}`
  const statements = sql`start transaction;
    update sessions set generation = ${next}, rotated_at = utc_timestamp(3), successor_enc = ${r.successorEnc},
      last_active_at = ${r.now}, ip = ${r.ip}, user_agent = ${r.userAgent}
      where id = ${r.sessionId} and generation = ${r.fromGeneration} and revoked_at is null and expires_at > ${r.now};
    insert into refresh_tokens (hash, session_id, generation, created_at)
      select ${r.newHash}, id, generation, ${r.now} ${ours};
    insert into outbox (id, payload, created_at) select ${r.event.id}, ${JSON.stringify(r.event)}, ${r.now} ${ours};
    commit`
  return db.connection().execute(async (conn) => {
    try {
      const { rows } = await statements.execute(conn)
      const [, update, tokenInsert] = rows as OkPacket[]
      return update?.affectedRows === 1 && tokenInsert?.affectedRows === 1
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => {})
      throw err
    }
  })
}
