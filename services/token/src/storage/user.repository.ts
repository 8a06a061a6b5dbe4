import type { SessionEvent } from '@africhain/events'
import type { Kysely } from 'kysely'
import type { User, UserStore } from '../domain/ports.ts'
import { insertOutbox } from './outbox.ts'
import type { TokenDatabase, UserTable } from './tables.ts'

const toUser = (row: Omit<UserTable, 'created_at'>): User => ({
  id: row.id,
  identifier: row.identifier,
  passwordHash: row.password_hash,
  displayName: row.display_name,
  roles: row.roles.split(' ').filter(Boolean),
})

const COLUMNS = ['id', 'identifier', 'password_hash', 'display_name', 'roles'] as const

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

    async setRoles(id: string, roles: string[]): Promise<void> {
      await db
        .updateTable('users')
        .set({ roles: roles.join(' ') })
        .where('id', '=', id)
        .execute()
    },
  }
}
