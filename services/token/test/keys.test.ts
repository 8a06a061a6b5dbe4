import { describe, expect, it } from 'vitest'
import { keyEncryption } from '../src/keys/key-crypto.ts'
import { createSigningKey } from '../src/keys/key-ring.ts'
import { authed, signIn, type TestApp, useTestApp } from './helpers/app.ts'
import { decodeProtectedHeader } from './helpers/jwt.ts'

const {
  apps: [a, b],
  config,
} = useTestApp('keys', {
  env: {
    KEY_ENCRYPTION_SECRET: 'an encryption secret of at least 32 characters!',
  },
  instances: 2,
})

const jwks = async (app: TestApp) =>
  (await app.inject('/.well-known/jwks.json')).json().keys as { kid: string }[]

describe('signing keys', () => {
  it('generates one key at first start, stores the private key encrypted, publishes only the public part', async () => {
    const rows = await a.db.selectFrom('signing_keys').selectAll().execute()
    expect(rows.length).toBeGreaterThanOrEqual(1)
    for (const row of rows) {
      expect(row.private_key.startsWith('v1:')).toBe(true)
      expect(row.private_key).not.toMatch(/PRIVATE KEY/)
    }
    const keys = await jwks(a)
    expect(keys.length).toBeGreaterThanOrEqual(1)
    for (const k of keys) expect(Object.keys(k).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x'])
  })

  it('rotates without downtime: published before it signs, old tokens keep working, instances converge', async () => {
    const before = await signIn(a)
    const oldKid = decodeProtectedHeader(before.pair.accessToken).kid
    // A rotation as `pnpm cli keys:rotate` does it, with an activation time in the near future.
    const activatesAt = new Date(Date.now() + 1_500)
    const kid = await createSigningKey(a.db, keyEncryption(config.KEY_ENCRYPTION_SECRET), activatesAt)
    await Promise.all([a.keyRing.load(), b.keyRing.load()])
    // Published at once by both instances, not yet signing.
    expect((await jwks(a)).map((k) => k.kid)).toContain(kid)
    expect((await jwks(b)).map((k) => k.kid)).toContain(kid)
    const early = await signIn(b)
    expect(decodeProtectedHeader(early.pair.accessToken).kid).toBe(oldKid)

    // Once the activation time passes, both instances sign with the new key (same rule, same rows).
    while (Date.now() < activatesAt.getTime() + 50) await new Promise((r) => setTimeout(r, 50))
    const onA = await signIn(a)
    const onB = await signIn(b)
    expect(decodeProtectedHeader(onA.pair.accessToken).kid).toBe(kid)
    expect(decodeProtectedHeader(onB.pair.accessToken).kid).toBe(kid)
    // Tokens signed by the old key stay valid on both instances until they expire; the old key stays published.
    expect((await authed(b, 'GET', '/auth/me', before.pair.accessToken)).statusCode).toBe(200)
    expect((await jwks(a)).map((k) => k.kid)).toEqual(expect.arrayContaining([kid, oldKid]))
  })

  it('drops a retired key from the JWKS once every token it signed has expired', () => {
    const now = Date.now()
    const published = a.keyRing.published(now + (config.ACCESS_TOKEN_TTL + 120) * 1000).map((k) => k.kid)
    expect(published).toHaveLength(1)
  })
})
