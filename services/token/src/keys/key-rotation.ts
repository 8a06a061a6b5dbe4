import type { Kysely } from 'kysely'
import type { TokenDatabase } from '../storage/tables.ts'
import { isClearKey, type KeyEncryption } from './key-crypto.ts'
import { createSigningKey, sealClearKeys } from './key-ring.ts'

/** `keys:rotate` cannot store a key as configured; the message says why and what to set. */
export class KeyStorageRefused extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KeyStorageRefused'
  }
}

/**
 * What `pnpm cli keys:rotate` stores, by the rules that keep keys encrypted once they are:
 * - without KEY_ENCRYPTION_SECRET, a clear key only while no stored key is encrypted (a deployment that
 *   encrypts its keys never gains a clear one because one operator's shell lacked the variable);
 * - with it, only if it opens every encrypted key already stored (a wrong secret would add a key no
 *   server can read), and clear rows are re-encrypted on the way.
 */
export async function rotateSigningKey(
  db: Kysely<TokenDatabase>,
  encryption: KeyEncryption,
  activatesAt: Date,
): Promise<{ kid: string; clear: boolean; sealed: string[] }> {
  const rows = await db.selectFrom('signing_keys').select(['kid', 'private_key']).execute()
  const encrypted = rows.filter((r) => !isClearKey(r.private_key))
  if (!encryption.sealed && encrypted.length > 0) {
    throw new KeyStorageRefused(
      `${encrypted.length} stored signing key(s) are encrypted but KEY_ENCRYPTION_SECRET is not set: ` +
        'refusing to store a new private key in clear. Set KEY_ENCRYPTION_SECRET to the secret the servers use.',
    )
  }
  for (const row of encrypted) {
    try {
      encryption.decrypt(row.private_key)
    } catch {
      throw new KeyStorageRefused(
        `KEY_ENCRYPTION_SECRET does not open the stored signing key ${row.kid}: refusing to add a key ` +
          'under another secret. Use the secret the servers use.',
      )
    }
  }
  const sealed = await sealClearKeys(db, encryption)
  const kid = await createSigningKey(db, encryption, activatesAt)
  return { kid, clear: !encryption.sealed, sealed }
}
