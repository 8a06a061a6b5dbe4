import { afterAll, describe, expect, it } from 'vitest'
import type { TokenConfig } from '../src/config.ts'
import { keyEncryption } from '../src/keys/key-crypto.ts'
import { createSigningKey } from '../src/keys/key-ring.ts'
import { authed, cleanup, refresh, signIn, startApp, type TestApp, testConfig } from './helpers/app.ts'
import { runCli } from './helpers/cli.ts'
import { decodeProtectedHeader } from './helpers/jwt.ts'

// A private signing key in clear at rest is an incident, never a silent default: servers that hold
// KEY_ENCRYPTION_SECRET re-encrypt clear rows (and say so, naming the kid), and `keys:rotate` refuses to add a
// clear key next to encrypted ones and warns on stderr whenever it stores one in clear.

const SECRET = 'a key encryption secret of at least 32 chars'
const configs: TokenConfig[] = []
const apps: TestApp[] = []
afterAll(async () => {
  for (const app of apps) await app.close()
  for (const config of configs) await cleanup(config)
})

function config(label: string, overrides: Record<string, string> = {}) {
  const c = testConfig(label, overrides)
  configs.push(c)
  return c
}

const rowsOf = async (app: TestApp) =>
  app.db.selectFrom('signing_keys').select(['kid', 'private_key']).orderBy('created_at').execute()

describe('a server that holds KEY_ENCRYPTION_SECRET', () => {
  it('re-encrypts clear rows at start, logs a warning naming each kid, and keeps their tokens valid', async () => {
    const clear = config('keys-clear')
    const before = await startApp(clear) // no secret: the first key is stored in clear
    const user = await signIn(before)
    const [row] = await rowsOf(before)
    expect(row!.private_key.startsWith('pem:')).toBe(true)
    await before.close()

    const lines: string[] = []
    const sealed = testConfig('keys-clear', {
      DATABASE_URL: clear.DATABASE_URL,
      REDIS_KEY_PREFIX: clear.REDIS_KEY_PREFIX!,
      KEY_ENCRYPTION_SECRET: SECRET,
      LOG_LEVEL: 'warn',
    })
    const app = await startApp(sealed, { logStream: { write: (line) => void lines.push(line) } })
    apps.push(app)
    const [after] = await rowsOf(app)
    expect(after!.kid).toBe(row!.kid)
    expect(after!.private_key.startsWith('v1:')).toBe(true)
    expect(keyEncryption(SECRET).decrypt(after!.private_key)).toBe(row!.private_key.slice(4))
    const warning = lines.map((l) => JSON.parse(l)).find((l) => l.kid === row!.kid)
    expect(warning).toMatchObject({ level: 40, component: 'key-ring' })
    expect(warning.msg).toMatch(/stored in clear/)
    expect(lines.join('\n')).not.toMatch(/PRIVATE KEY/)
    // The refresh-token key too: sealed now, the same key (the refresh token issued before still rotates).
    const secret = await app.db.selectFrom('token_secrets').select('value').executeTakeFirstOrThrow()
    expect(secret.value.startsWith('v1:')).toBe(true)
    expect((await refresh(app, user.pair.refreshToken)).statusCode).toBe(200)
    // The same key: tokens it signed still verify, and it still signs.
    expect((await authed(app, 'GET', '/auth/me', user.pair.accessToken)).statusCode).toBe(200)
    const next = await signIn(app)
    expect(decodeProtectedHeader(next.pair.accessToken).kid).toBe(row!.kid)

    // A clear row that appears later (an old CLI, a hand insert) is sealed at the next reload.
    const kid = await createSigningKey(app.db, keyEncryption(undefined), new Date(Date.now() + 3_600_000))
    await app.keyRing.load()
    const late = (await rowsOf(app)).find((r) => r.kid === kid)!
    expect(late.private_key.startsWith('v1:')).toBe(true)
    expect(lines.some((l) => l.includes(kid))).toBe(true)
  })
})

describe('pnpm cli keys:rotate', () => {
  const noSecret = { KEY_ENCRYPTION_SECRET: '' }

  it('refuses a clear key once any stored key is encrypted, and a secret that does not open them', async () => {
    const c = config('keys-cli-sealed')
    const env = { DATABASE_URL: c.DATABASE_URL, REDIS_URL: c.REDIS_URL }
    const first = await runCli(['keys:rotate'], { ...env, KEY_ENCRYPTION_SECRET: SECRET })
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).not.toMatch(/WARNING/)
    expect(JSON.parse(first.stdout)).toMatchObject({ clear: false })
    // It says when the key is published everywhere and when it signs.
    const said = JSON.parse(first.stdout) as { publishedBy: string; signsFrom: string }
    expect(Date.parse(said.signsFrom) - Date.parse(said.publishedBy)).toBeGreaterThanOrEqual(59_000)
    expect(first.stderr).toMatch(
      /in every instance's JWKS by \S+ .*signs from \S+ \(KEY_ACTIVATION_DELAY 120 s\)/,
    )

    const clear = await runCli(['keys:rotate'], { ...env, ...noSecret })
    expect(clear.code).toBe(1)
    expect(clear.stderr).toMatch(/encrypted but KEY_ENCRYPTION_SECRET is not set: refusing/)
    const wrong = await runCli(['keys:rotate'], { ...env, KEY_ENCRYPTION_SECRET: `${SECRET}, but another` })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/does not open the stored signing key/)

    const list = await runCli(['keys:list'], { ...env, ...noSecret })
    expect(list.code, list.stderr).toBe(0)
    const keys = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(keys).toEqual([
      expect.objectContaining({ kid: JSON.parse(first.stdout).kid, storedEncrypted: true }),
    ])
  })

  it('says loudly on stderr that it stores a clear key when no secret is set; with one, seals the clear ones', async () => {
    const c = config('keys-cli-clear')
    const env = { DATABASE_URL: c.DATABASE_URL, REDIS_URL: c.REDIS_URL }
    const clear = await runCli(['keys:rotate'], { ...env, ...noSecret })
    expect(clear.code, clear.stderr).toBe(0)
    const { kid } = JSON.parse(clear.stdout)
    expect(clear.stderr).toMatch(
      new RegExp(
        `WARNING: KEY_ENCRYPTION_SECRET is not set: the private key of ${kid} is stored UNENCRYPTED`,
      ),
    )

    const sealed = await runCli(['keys:rotate'], { ...env, KEY_ENCRYPTION_SECRET: SECRET })
    expect(sealed.code, sealed.stderr).toBe(0)
    expect(sealed.stderr).toMatch(new RegExp(`re-encrypted signing key ${kid}`))
    const list = await runCli(['keys:list'], { ...env, ...noSecret })
    const keys = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(keys.map((k) => k.storedEncrypted)).toEqual([true, true])
  })
})
