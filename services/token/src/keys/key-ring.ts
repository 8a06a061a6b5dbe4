import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto'
import type { KeySource } from '@africhain/verifier'
import type { Kysely } from 'kysely'
import type { TokenDatabase } from '../storage/tables.ts'
import { isClearKey, type KeyEncryption } from './key-crypto.ts'

export type PublicJwk = { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' }

export type SigningKey = {
  kid: string
  publicJwk: PublicJwk
  publicKey: KeyObject
  privatePem: string
  activatesAt: Date
}

type Options = {
  db: Kysely<TokenDatabase>
  encryption: KeyEncryption
  /** Access-token lifetime in seconds: a retired key stays published this long (plus a margin). */
  accessTtl: number
  reloadIntervalMs?: number
  /** Told about private keys found in clear at rest (re-encrypted, or not) — never silently kept. */
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void }
}

const RETIRE_MARGIN_MS = 60_000

/** Generates an Ed25519 key and stores it; it signs from `activatesAt` on. */
export async function createSigningKey(
  db: Kysely<TokenDatabase>,
  encryption: KeyEncryption,
  activatesAt: Date,
): Promise<string> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const kid = `${activatesAt.toISOString().slice(0, 10)}-${randomBytes(6).toString('base64url')}`
  const jwk = publicKey.export({ format: 'jwk' })
  const publicJwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x!, kid, alg: 'EdDSA', use: 'sig' }
  await db
    .insertInto('signing_keys')
    .values({
      kid,
      alg: 'EdDSA',
      public_jwk: JSON.stringify(publicJwk),
      private_key: encryption.encrypt(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
      created_at: new Date(),
      activates_at: activatesAt,
    })
    .execute()
  return kid
}

/**
 * Re-encrypts every private key stored in clear, when a secret is configured. Compare-and-set on the clear
 * value, so instances racing at start re-encrypt each row once and never overwrite one another's
 * ciphertext. Returns the kids it sealed (the caller logs them: a clear key at rest is an incident).
 */
export async function sealClearKeys(db: Kysely<TokenDatabase>, encryption: KeyEncryption): Promise<string[]> {
  if (!encryption.sealed) return []
  const rows = await db.selectFrom('signing_keys').select(['kid', 'private_key']).execute()
  const sealed: string[] = []
  for (const row of rows.filter((r) => isClearKey(r.private_key))) {
    const result = await db
      .updateTable('signing_keys')
      .set({ private_key: encryption.encrypt(encryption.decrypt(row.private_key)) })
      .where('kid', '=', row.kid)
      .where('private_key', '=', row.private_key)
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) === 1) sealed.push(row.kid)
  }
  return sealed
}

/**
 * The signing keys, loaded from MySQL into memory. Every instance applies the same rule to the same rows —
 * the newest key whose activation time has passed signs — so all instances converge on one key without
 * talking to each other. A key is published from its creation (before it signs) until every token it
 * signed has expired.
 */
export class KeyRing implements KeySource {
  #opts: Options
  #keys: SigningKey[] = []
  #lastLoad = 0
  #loading: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(opts: Options) {
    this.#opts = opts
  }

  async load(): Promise<void> {
    if (this.#loading) return this.#loading
    this.#loading = (async () => {
      try {
        const select = () => this.#opts.db.selectFrom('signing_keys').selectAll().execute()
        let rows = await select()
        if (this.#opts.encryption.sealed && rows.some((r) => isClearKey(r.private_key))) {
          await this.#sealClearKeys()
          rows = await select()
        }
        this.#keys = rows
          .map((row) => {
            const publicJwk = JSON.parse(row.public_jwk) as PublicJwk
            const privatePem = this.#opts.encryption.decrypt(row.private_key)
            createPrivateKey(privatePem) // fails loudly on a corrupt key
            return {
              kid: row.kid,
              publicJwk,
              publicKey: createPublicKey({
                key: { kty: 'OKP', crv: 'Ed25519', x: publicJwk.x },
                format: 'jwk',
              }),
              privatePem,
              activatesAt: row.activates_at,
            }
          })
          .sort((a, b) => b.activatesAt.getTime() - a.activatesAt.getTime() || (a.kid < b.kid ? 1 : -1))
        this.#lastLoad = Date.now()
      } finally {
        this.#loading = undefined
      }
    })()
    return this.#loading
  }

  /** With a secret configured, a clear row (an old CLI, a hand insert) is re-encrypted before it is used. */
  async #sealClearKeys(): Promise<void> {
    const { db, encryption, log } = this.#opts
    try {
      for (const kid of await sealClearKeys(db, encryption)) {
        log?.warn({ kid }, 'signing key was stored in clear: re-encrypted it with KEY_ENCRYPTION_SECRET')
      }
    } catch (err) {
      log?.error(
        { err: { message: (err as Error).message } },
        'signing keys stored in clear could not be re-encrypted; they stay in clear until this succeeds',
      )
    }
  }

  /** First start: makes sure a key exists (two instances racing both insert one; both get published). */
  async ensureKey(): Promise<void> {
    await this.load()
    if (!this.#keys.some((k) => k.activatesAt.getTime() <= Date.now())) {
      await createSigningKey(this.#opts.db, this.#opts.encryption, new Date())
      await this.load()
    }
  }

  start(onError: (err: unknown) => void): void {
    if (this.#timer) return
    this.#timer = setInterval(() => this.load().catch(onError), this.#opts.reloadIntervalMs ?? 30_000)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  signingKey(now = Date.now()): SigningKey {
    const key = this.#keys.find((k) => k.activatesAt.getTime() <= now)
    if (!key) throw new Error('no active signing key')
    return key
  }

  /** Keys that may verify a live token now: pending, signing, or retired less than one access TTL ago. */
  published(now = Date.now()): SigningKey[] {
    const out: SigningKey[] = []
    let newerActivation: number | undefined // when the next newer active key took over
    for (const key of this.#keys) {
      const activation = key.activatesAt.getTime()
      if (activation > now) {
        out.push(key)
        continue
      }
      if (
        newerActivation === undefined ||
        now < newerActivation + this.#opts.accessTtl * 1000 + RETIRE_MARGIN_MS
      ) {
        out.push(key)
      }
      newerActivation = activation
    }
    return out
  }

  jwks(now = Date.now()): { keys: PublicJwk[] } {
    return { keys: this.published(now).map((k) => k.publicJwk) }
  }

  get(kid: string): KeyObject | undefined {
    return this.published().find((k) => k.kid === kid)?.publicKey
  }

  /** An unknown kid may be a key another instance just created: reload, at most every 5 s. */
  async refresh(): Promise<void> {
    if (Date.now() - this.#lastLoad < 5_000) return
    await this.load()
  }
}
