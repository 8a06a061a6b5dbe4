import { retryOnDeadlock } from '@africhain/db'
import type { SessionEvent } from '@africhain/events'
import type { Kysely, Selectable } from 'kysely'
import type { Account, AccountUpdate, SessionRecord, User, UserStore } from '../domain/ports.ts'
import { insertOutbox } from './outbox.ts'
import { revokeInTransaction } from './session.repository.ts'
import type { TokenDatabase, UserTable } from './tables.ts'

const toUser = (row: Omit<Selectable<UserTable>, 'created_at'>): User => ({
  id: row.id,
  identifier: row.identifier,
  passwordHash: row.password_hash,
  displayName: row.display_name,
  roles: row.roles.split(' ').filter(Boolean),
  disabled: row.disabled_at !== null,
})

const toAccount = (row: Omit<Selectable<UserTable>, 'password_hash'>): Account => ({
  id: row.id,
  identifier: row.identifier,
  displayName: row.display_name,
  roles: row.roles.split(' ').filter(Boolean),
  createdAt: row.created_at,
  disabled: row.disabled_at !== null,
})

const COLUMNS = ['id', 'identifier', 'password_hash', 'display_name', 'roles', 'disabled_at'] as const
/** Never the password hash: what an administrator may see. */
const ACCOUNT_COLUMNS = ['id', 'identifier', 'display_name', 'roles', 'created_at', 'disabled_at'] as const

function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: string })?.code === 'ER_DUP_ENTRY'
}

export function userRepository(
  db: Kysely<TokenDatabase>,
  afterCommit: () => void = () => {},
): UserStore & {
  setRoles(id: string, roles: string[]): Promise<void>
} {
  return {
    async create(user: User, event: SessionEvent): Promise<boolean> {
      const now = new Date()
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('users')
            .values({
              id: user.id,
              identifier: user.identifier,
              password_hash: user.passwordHash,
              display_name: user.displayName,
              roles: user.roles.join(' '),
              created_at: now,
            })
            .execute()
          await insertOutbox(trx, [event], now)
        })
      } catch (err) {
        if (isDuplicateKey(err)) return false
        throw err
      }
      afterCommit()
      return true
    },

    async findByIdentifier(identifier: string): Promise<User | undefined> {
      const row = await db
        .selectFrom('users')
        .select(COLUMNS)
        .where('identifier', '=', identifier)
        .executeTakeFirst()
      return row ? toUser(row) : undefined
    },

    async findById(id: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').select(COLUMNS).where('id', '=', id).executeTakeFirst()
      return row ? toUser(row) : undefined
    },

    async findAccount(id: string): Promise<Account | undefined> {
      const row = await db.selectFrom('users').select(ACCOUNT_COLUMNS).where('id', '=', id).executeTakeFirst()
      return row ? toAccount(row) : undefined
    },

    async listAccounts(): Promise<Account[]> {
      const rows = await db.selectFrom('users').select(ACCOUNT_COLUMNS).orderBy('created_at').execute()
      return rows.map(toAccount)
    },

    async updateAccount(
      id: string,
      now: Date,
      decide: (account: Account & { passwordHash: string }) => AccountUpdate | null,
    ) {
      let revoked: SessionRecord[] = []
      // A deadlock with a racing rotation or revocation rolled the whole transaction back: decide again.
      const account = await retryOnDeadlock(() =>
        db.transaction().execute(async (trx) => {
          revoked = []
          const row = await trx
            .selectFrom('users')
            .select([...ACCOUNT_COLUMNS, 'password_hash'])
            .where('id', '=', id)
            .forUpdate()
            .executeTakeFirst()
          if (!row) return undefined
          const current = toAccount(row)
          const update = decide({ ...current, passwordHash: row.password_hash })
          if (!update) return current
          const set: { password_hash?: string; disabled_at?: Date | null } = {}
          if (update.passwordHash !== undefined) set.password_hash = update.passwordHash
          if (update.disabled !== undefined && update.disabled !== current.disabled)
            set.disabled_at = update.disabled ? now : null
          if (Object.keys(set).length > 0)
            await trx.updateTable('users').set(set).where('id', '=', id).execute()
          if (update.revoke) {
            const { exceptSessionId, reason, eventsFor } = update.revoke
            const selection = { userId: id, ...(exceptSessionId ? { exceptSessionId } : {}) }
            revoked = await revokeInTransaction(trx, selection, reason, now, eventsFor)
          }
          await insertOutbox(trx, update.events, now)
          return { ...current, ...(update.disabled !== undefined ? { disabled: update.disabled } : {}) }
        }),
      )
      if (!account) return undefined
      afterCommit()
      return { account, revoked }
    },

    async setRoles(id: string, roles: string[]): Promise<void> {
      await db
        .updateTable('users')
        .set({ roles: roles.join(' ') })
        .where('id', '=', id)
        .execute()
    },
  }
}
