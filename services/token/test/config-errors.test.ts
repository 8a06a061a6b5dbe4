import { describe, expect, it } from 'vitest'
import { ServiceProcess } from './helpers/process.ts'

// A process started with broken configuration stops with a message naming every bad variable, and that
// message (which operators paste into tickets) never shows a password a URL carried.

const BAD_ENV = {
  DATABASE_URL: 'mysql://root:Db-pw-1234@db:notaport/africhain',
  REDIS_URL: 'redis://:Redis-pw-5678@cache:99999',
  TOKEN_SERVICE_URL: 'https://svc:Http-pw-9012@token:1:2',
  KEY_ENCRYPTION_SECRET: 'short-secret-42',
}
const SECRETS = ['Db-pw-1234', 'Redis-pw-5678', 'Http-pw-9012', 'short-secret-42']

describe('start-up configuration errors', () => {
  it.each([
    ['token service', 'services/token/src/server.ts', ['DATABASE_URL', 'REDIS_URL', 'KEY_ENCRYPTION_SECRET']],
    ['admin CLI', 'services/token/src/cli.ts', ['DATABASE_URL', 'REDIS_URL', 'KEY_ENCRYPTION_SECRET']],
    ['analytics', 'services/analytics/src/server.ts', ['DATABASE_URL', 'REDIS_URL', 'TOKEN_SERVICE_URL']],
  ])('%s names every bad variable and prints no password', async (_name, entry, names) => {
    const proc = new ServiceProcess(entry, BAD_ENV)
    expect(await proc.exited).toBe(1)
    const output = proc.lines.join('\n')
    for (const name of names) expect(output).toMatch(new RegExp(`${name}: `))
    for (const secret of SECRETS) expect(output).not.toContain(secret)
  })
})
