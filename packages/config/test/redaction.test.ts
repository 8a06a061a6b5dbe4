import { describe, expect, it } from 'vitest'
import { ConfigError, hostList, integer, loadConfig, optionalSecret, trustProxy, url } from '../src/index.ts'
import { redactSecrets } from '../src/redact.ts'

// docs/security.md: "Configuration errors are logged by operators into tickets: never print a secret that a URL
// carried." Every message the loader builds names the variable and shows no password, however broken the URL.

const spec = {
  DATABASE_URL: url('mysql://root@127.0.0.1:3306/africhain', ['mysql:']),
  REDIS_URL: url('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
  TOKEN_SERVICE_URL: url('http://127.0.0.1:3001', ['http:', 'https:']),
}

function problemsOf(
  env: Record<string, string>,
  s: Record<string, (raw: string | undefined) => unknown> = spec,
) {
  try {
    loadConfig(s, env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return { message: (err as Error).message, problems: (err as ConfigError).problems }
  }
  throw new Error('expected a ConfigError')
}

describe('configuration errors never print a URL-borne secret', () => {
  it.each([
    ['DATABASE_URL', 'mysql://root:Pw-7hunter2@db:99999/africhain', 'Pw-7hunter2'],
    ['DATABASE_URL', 'mysql://root:Pw-7hunter2@db:port/africhain', 'Pw-7hunter2'],
    ['DATABASE_URL', 'mysql//root:Pw-7hunter2@db/africhain', 'Pw-7hunter2'],
    ['DATABASE_URL', 'mysql:/root:Pw-7hunter2@db:x/africhain', 'Pw-7hunter2'],
    ['DATABASE_URL', 'postgres://root:Pw-7hunter2@db/africhain', 'Pw-7hunter2'],
    ['DATABASE_URL', 'mysql://root:Pw@7hunter2@db:x/africhain', 'Pw@7hunter2'],
    ['DATABASE_URL', 'mysql://root:Pw%2F7hunter2@db:-1/africhain', 'Pw%2F7hunter2'],
    ['DATABASE_URL', 'mysql://root:Pw%2F7hunter2@db:-1/africhain', 'Pw/7hunter2'],
    ['DATABASE_URL', 'mysql://db:70000/africhain?user=root&password=Pw-7hunter2', 'Pw-7hunter2'],
    ['DATABASE_URL', 'mysql://db:70000/africhain?ssl=true&PASSWORD=Pw-7hunter2&x=1', 'Pw-7hunter2'],
    ['REDIS_URL', 'redis://:Pw-7hunter2@cache:63790000', 'Pw-7hunter2'],
    ['REDIS_URL', 'redis://default:Pw-7hunter2@cache:6379 /0', 'Pw-7hunter2'],
    ['REDIS_URL', 'http://default:Pw-7hunter2@cache:6379', 'Pw-7hunter2'],
    ['REDIS_URL', 'redis://Pw-7hunter2@[cache', 'Pw-7hunter2'],
    ['REDIS_URL', 'rediss://cache:bad?auth_token=Pw-7hunter2&db=0', 'Pw-7hunter2'],
    ['TOKEN_SERVICE_URL', 'https://svc:Pw-7hunter2@token:443:1', 'Pw-7hunter2'],
    ['TOKEN_SERVICE_URL', 'ftp://svc:Pw-7hunter2@token', 'Pw-7hunter2'],
  ])('%s=%s', (name, value, password) => {
    const { message, problems } = problemsOf({ [name]: value })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(new RegExp(`^${name}: `))
    expect(message).not.toContain(password)
  })

  it('lists every bad variable at once, none with its password', () => {
    const { message, problems } = problemsOf({
      DATABASE_URL: 'mysql://root:Db-pw-1234@db:bad/x',
      REDIS_URL: 'redis://:Redis-pw-5678@cache:bad',
      TOKEN_SERVICE_URL: 'gopher://u:Http-pw-9012@token',
    })
    expect(problems.map((p) => p.split(':')[0])).toEqual(['DATABASE_URL', 'REDIS_URL', 'TOKEN_SERVICE_URL'])
    for (const pw of ['Db-pw-1234', 'Redis-pw-5678', 'Http-pw-9012']) expect(message).not.toContain(pw)
  })

  it('scrubs secrets from the messages of every parser, not only url()', () => {
    const { message } = problemsOf(
      {
        REDIS_CLUSTER_NODES: 'node1:6379,redis://:Pw-7hunter2@node2:6379',
        TRUST_PROXY: 'mysql://root:Pw-7hunter2@db$',
        DB_POOL_SIZE: 'mysql://root:Pw-7hunter2@db',
        KEY_ENCRYPTION_SECRET: 'too short but secret',
      },
      {
        REDIS_CLUSTER_NODES: hostList,
        TRUST_PROXY: trustProxy,
        DB_POOL_SIZE: integer(16, 1, 256),
        KEY_ENCRYPTION_SECRET: optionalSecret(32),
      },
    )
    expect(message).toMatch(/REDIS_CLUSTER_NODES: /)
    expect(message).toMatch(/TRUST_PROXY: /)
    expect(message).toMatch(/DB_POOL_SIZE: /)
    expect(message).toMatch(/KEY_ENCRYPTION_SECRET: must be at least 32 characters/)
    expect(message).not.toContain('Pw-7hunter2')
    expect(message).not.toContain('too short but secret')
  })

  it('still says what is wrong, with the host and the scheme', () => {
    const { problems } = problemsOf({ DATABASE_URL: 'postgres://root:Pw-7hunter2@db/africhain' })
    expect(problems[0]).toMatch(/must use mysql:/)
    expect(problems[0]).toMatch(/postgres:/)
  })

  it.each([
    ['mysql://root:hunter2@db/x', 'mysql://root:***@db/x'],
    ['redis://:hunter2@cache:6379', 'redis://:***@cache:6379'],
    ['see mysql://a:b@c and redis://:d@e', 'see mysql://a:***@c and redis://:***@e'],
    ['x?password=hunter2&user=root', 'x?password=***&user=root'],
    ['no secret here: 15 minutes', 'no secret here: 15 minutes'],
  ])('redactSecrets(%j) is %j', (text, redacted) => expect(redactSecrets(text)).toBe(redacted))
})
