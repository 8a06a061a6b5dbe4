import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto'

// Private signing keys at rest: `v1:` + base64url(iv | AES-256-GCM ciphertext | tag) under a key derived
// from KEY_ENCRYPTION_SECRET, or `pem:` + PEM when no secret is configured (start-up warns loudly).

export type KeyEncryption = {
  /** True when a secret is configured: `encrypt` seals, and a clear row is one to re-encrypt. */
  readonly sealed: boolean
  encrypt(pem: string): string
  decrypt(stored: string): string
}

/** Whether a stored private key is in clear (`pem:`), whatever the configuration. */
export const isClearKey = (stored: string) => stored.startsWith('pem:')

export function keyEncryption(secret: string | undefined): KeyEncryption {
  const kek = secret === undefined ? undefined : scryptSync(secret, 'africhain-kek-v1', 32)
  return {
    sealed: kek !== undefined,
    encrypt(pem) {
      if (!kek) return `pem:${pem}`
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', kek, iv)
      const body = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()])
      return `v1:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`
    },
    decrypt(stored) {
      if (stored.startsWith('pem:')) return stored.slice(4)
      if (!stored.startsWith('v1:')) throw new Error('unknown private key format')
      if (!kek) throw new Error('a signing key is encrypted but KEY_ENCRYPTION_SECRET is not set')
      const raw = Buffer.from(stored.slice(3), 'base64url')
      const decipher = createDecipheriv('aes-256-gcm', kek, raw.subarray(0, 12))
      decipher.setAuthTag(raw.subarray(raw.length - 16))
      try {
        return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString(
          'utf8',
        )
      } catch {
        // GCM's own message ("Unsupported state or unable to authenticate data") says nothing to an operator.
        throw new Error(
          'a signing key cannot be decrypted with this KEY_ENCRYPTION_SECRET: it was encrypted under another one (or altered)',
        )
      }
    },
  }
}
