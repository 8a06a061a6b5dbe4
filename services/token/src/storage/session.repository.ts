import { retryOnDeadlock } from '@africhain/db'
import type { RevokeReason, SessionEvent } from '@africhain/events'
import type { InferResult, Kysely, Transaction } from 'kysely'
import type { Rotation, Selection, SessionRecord, SessionStore } from '../domain/ports.ts'
import { compileWithOneParameter } from './compiled-query.ts'
import { insertOutbox } from './outbox.ts'
import { rotateInOneRoundTrip, rotationStatement } from './rotation-statement.ts'
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
