import { retryOnDeadlock } from '@africhain/db'
import type { RevokeReason, SessionEvent } from '@africhain/events'
import { type InferResult, type Kysely, sql, type Transaction } from 'kysely'
import type { Rotation, Selection, SessionRecord, SessionStore } from '../domain/ports.ts'
import { compileWithOneParameter } from './compiled-query.ts'
import { insertOutbox } from './outbox.ts'
import { rotatedAgo, sessionWithUser, toFound, toSessionRecord } from './session-rows.ts'
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
            previous_hash: null,
          })
          .execute()
        await trx
          .insertInto('refresh_tokens')
          .values({
            hash: refreshHash,
            session_id: session.id,
            generation: session.generation,
            created_at: session.createdAt,
            signed: 1,
          })
          .execute()
        await insertOutbox(trx, events, session.createdAt)
        return 'created' as const
      })
      if (outcome === 'created') afterCommit()
      return outcome
    },

    async findByRefreshHash(hash: Buffer) {
      const { rows } = await db.executeQuery<ByRefreshHashRow>(byRefreshHashSql(hash))
      const row = rows[0]
      if (!row) return undefined
      const { token_generation, ...rest } = row
      return { ...toFound(rest), generation: token_generation }
    },

    async findWithUser(id: string) {
      const row = await sessionWithUser(db).where('s.id', '=', id).executeTakeFirst()
      return row ? toFound(row) : undefined
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

/**
 * The rotation as one transaction in one round trip (the hot path: a refresh waits on it). The UPDATE is the
 * compare-and-set — only one request can move the session off `fromGeneration`; InnoDB re-checks the WHERE on
 * the latest committed row after waiting for a competing writer's lock. The two INSERTs select from the row
 * this request just wrote (its generation and its own sealed successor), so they insert nothing when the
 * UPDATE lost. The DELETE keeps the session's rows bounded: the token before the presented one (the old
 * previous, `dropHash`, read with the session; unchanged since, or the CAS would lose) is now two
 * generations old, recognised by its MAC rather than its row (rotate-refresh-token.ts, `pruned`), so its
 * row goes — only when this request won (the INSERTs' check on the row it wrote, so no session variable and
 * no statement to set one): a CAS lost to a revocation leaves the session at `fromGeneration`, whose
 * previous token keeps its row to answer TOKEN_REVOKED. By primary key, one row lock: a range DELETE on the
 * session's rows let MariaDB pick a full scan on a small, churning table, and rotations of different
 * sessions deadlocked. Only signed rows are dropped: a legacy token is recognised by its row alone, so
 * those stay until the session ends. Any error rolls back on the same connection before it returns to the
 * pool.
 */
async function rotateInOneRoundTrip(db: Kysely<TokenDatabase>, r: Rotation): Promise<boolean> {
  const next = r.fromGeneration + 1
  const ours = sql`from sessions where id = ${r.sessionId} and generation = ${next} and successor_enc = ${r.successorEnc}`
  const statements = sql`start transaction;
    update sessions set generation = ${next}, rotated_at = utc_timestamp(3), successor_enc = ${r.successorEnc},
      previous_hash = ${r.previousHash},
      last_active_at = ${r.now}, ip = ${r.ip}, user_agent = ${r.userAgent}
      where id = ${r.sessionId} and generation = ${r.fromGeneration} and revoked_at is null and expires_at > ${r.now};
    insert into refresh_tokens (hash, session_id, generation, created_at, signed)
      select ${r.newHash}, id, generation, ${r.now}, 1 ${ours};
    insert into outbox (id, payload, created_at) select ${r.event.id}, ${JSON.stringify(r.event)}, ${r.now} ${ours};
    delete from refresh_tokens where hash = ${r.dropHash} and signed and exists (select 1 ${ours});
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
