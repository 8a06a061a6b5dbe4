import { CliFailure } from './cli-accounts.ts'
import { withDb } from './cli-db.ts'
import type { TokenConfig } from './config.ts'
import { isClearKey, keyEncryption } from './keys/key-crypto.ts'
import { KeyStorageRefused, rotateSigningKey } from './keys/key-rotation.ts'

export const KEY_USAGE = `  keys:rotate                                        new signing key, published now, signing after KEY_ACTIVATION_DELAY
  keys:list                                          the stored signing keys: kid, times, encrypted or in clear`

/** `keys:rotate` and `keys:list`: the signing keys in the database, as every instance reloads them. */
export async function runKeyCommand(command: 'keys:rotate' | 'keys:list', config: TokenConfig) {
  if (command === 'keys:list') return listKeys(config)
  await withDb(config, async (db) => {
    const activatesAt = new Date(Date.now() + config.KEY_ACTIVATION_DELAY * 1000)
    let rotated: Awaited<ReturnType<typeof rotateSigningKey>>
    try {
      rotated = await rotateSigningKey(db, keyEncryption(config.KEY_ENCRYPTION_SECRET), activatesAt)
    } catch (err) {
      if (err instanceof KeyStorageRefused) throw new CliFailure(`keys:rotate: ${err.message}`)
      throw err
    }
    for (const kid of rotated.sealed)
      console.error(`re-encrypted signing key ${kid} (it was stored in clear)`)
    if (rotated.clear) {
      console.error(
        `WARNING: KEY_ENCRYPTION_SECRET is not set: the private key of ${rotated.kid} is stored UNENCRYPTED ` +
          'in the database. Set KEY_ENCRYPTION_SECRET (≥ 32 characters) on the servers and here; servers ' +
          'that hold it re-encrypt clear keys at start.',
      )
    }
    const { kid, clear } = rotated
    // Instances reload keys every 30 s: the key is in every JWKS by then, and signs from activatesAt.
    const publishedBy = new Date(Date.now() + 30_000)
    console.error(
      `signing key ${kid}: in every instance's JWKS by ${publishedBy.toISOString()} (keys reload every 30 s); ` +
        `signs from ${activatesAt.toISOString()} (KEY_ACTIVATION_DELAY ${config.KEY_ACTIVATION_DELAY} s)`,
    )
    console.log(
      JSON.stringify({
        kid,
        publishedBy: publishedBy.toISOString(),
        signsFrom: activatesAt.toISOString(),
        clear,
      }),
    )
  })
}

async function listKeys(config: TokenConfig) {
  await withDb(config, async (db) => {
    const rows = await db.selectFrom('signing_keys').selectAll().orderBy('activates_at').execute()
    for (const row of rows) {
      console.log(
        JSON.stringify({
          kid: row.kid,
          createdAt: row.created_at.toISOString(),
          activatesAt: row.activates_at.toISOString(),
          storedEncrypted: !isClearKey(row.private_key),
        }),
      )
    }
  })
}
