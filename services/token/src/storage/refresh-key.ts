import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { isClearKey, type KeyEncryption } from '../keys/key-crypto.ts'
import type { TokenDatabase } from './tables.ts'

const NAME = 'refresh-mac'

/**
 * The deployment's refresh-token MAC key (32 random bytes): made by the first instance that starts, read by
 * every other (an INSERT IGNORE, then the one row that won), stored like the private signing keys — sealed
 * under KEY_ENCRYPTION_SECRET when it is set (a key stored in clear before the secret was set is sealed at
 * start, as the signing keys are). It never leaves the process and never rotates: rotating it
 * would turn every live refresh token into an unknown one.
 */
export async function loadRefreshKey(db: Kysely<TokenDatabase>, encryption: KeyEncryption): Promise<Buffer> {
  await db
    .insertInto('token_secrets')
    .ignore()
    .values({
      name: NAME,
      value: encryption.encrypt(randomBytes(32).toString('base64url')),
      created_at: new Date(),
    })
    .execute()
  const row = await db
    .selectFrom('token_secrets')
    .select('value')
    .where('name', '=', NAME)
    .executeTakeFirstOrThrow()
  const clear = encryption.decrypt(row.value)
  if (encryption.sealed && isClearKey(row.value)) {
    await db
      .updateTable('token_secrets')
      .set({ value: encryption.encrypt(clear) })
      .where('name', '=', NAME)
      .where('value', '=', row.value)
      .execute()
  }
  const key = Buffer.from(clear, 'base64url')
  if (key.length !== 32) throw new Error('the stored refresh-token key is not 32 bytes')
  return key
}
