import { describe, expect, it } from 'vitest'
import { login, uniqueEmail, useTestApp } from './helpers/app.ts'
import { runCli } from './helpers/cli.ts'

// docs/api.md: "Passwords are read from a prompt or standard input, never from the command line." A password in
// argv ends up in shell history and in every `ps` listing on the host.

const { app, config } = useTestApp('cli-passwords')
const env = { DATABASE_URL: config.DATABASE_URL, REDIS_URL: config.REDIS_URL }

const userCount = async (identifier: string) =>
  (await app.db.selectFrom('users').select('id').where('identifier', '=', identifier).execute()).length

describe('pnpm cli user:create', () => {
  it('reads the password from standard input when it is not a terminal', async () => {
    const identifier = uniqueEmail()
    const password = 'piped in password ✓'
    const res = await runCli(
      ['user:create', '--identifier', identifier, '--role', 'security'],
      env,
      `${password}\n`,
    )
    expect(res.code, res.stderr).toBe(0)
    expect(JSON.parse(res.stdout)).toMatchObject({ identifier, roles: ['user', 'security'] })
    expect(res.stdout + res.stderr).not.toContain(password)
    // The stored hash is of exactly that line: the user signs in with it.
    const pair = await login(app, identifier, { password })
    expect(pair.accessToken).toBeTruthy()
  })

  it.each([
    ['--password <pw>', ['--password', 'on-argv-secret-1']],
    ['--password=<pw>', ['--password=on-argv-secret-2']],
    ['--PASSWORD <pw>', ['--PASSWORD', 'on-argv-secret-3']],
  ])('refuses %s on the command line, without echoing it', async (_name, args) => {
    const identifier = uniqueEmail()
    const res = await runCli(['user:create', '--identifier', identifier, ...args], env, 'a fine password\n')
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/passwords are never taken on the command line/)
    expect(res.stdout + res.stderr).not.toMatch(/on-argv-secret/)
    expect(await userCount(identifier)).toBe(0)
  })

  it.each([
    ['nothing', '', /must be 8 to 128 characters/],
    ['a short line', 'short\n', /must be 8 to 128 characters/],
    ['an over-long line', `${'x'.repeat(200)}\n`, /must be 8 to 128 characters/],
  ])('refuses %s on standard input', async (_name, stdin, message) => {
    const identifier = uniqueEmail()
    const res = await runCli(['user:create', '--identifier', identifier], env, stdin)
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(message)
    expect(await userCount(identifier)).toBe(0)
  })

  it('says how to pass the password in its help text, and answers bad arguments with it (no stack trace)', async () => {
    const help = await runCli([], env)
    expect(help.code).toBe(1)
    expect(help.stderr).toMatch(/user:create --identifier <id> \[--role <role>\]/)
    expect(help.stderr).not.toMatch(/--password <pw>/)
    const bad = await runCli(['user:create', '--identifier', uniqueEmail(), 'stray-secret-value'], env, 'x\n')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/usage: pnpm cli/)
    expect(bad.stderr).not.toMatch(/stray-secret-value|\n\s+at /)
  })
})
