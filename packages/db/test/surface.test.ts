import { describe, expect, it } from 'vitest'

// The main entry is what services ship; the test-database helper lives on `@africhain/db/testing` only.
describe('@africhain/db entry points', () => {
  it('the main entry exports the runtime functions and no test helper', async () => {
    const main = Object.keys(await import('@africhain/db')).sort()
    expect(main).toEqual([
      'assertBinarySchema',
      'convertToBinary',
      'createDb',
      'deleteOlderThan',
      'dropDatabase',
      'ensureDatabase',
      'isDeadlock',
      'isDuplicateKey',
      'migrateDown',
      'migrateToLatest',
      'migratorFor',
      'publishedOutboxRows',
      'retryOnDeadlock',
      'sqlLiteral',
    ])
  })

  it('the testing subpath gives per-file database URLs', async () => {
    const { testDatabaseUrl } = await import('@africhain/db/testing')
    const [a, b] = [testDatabaseUrl('surface test'), testDatabaseUrl('surface test')]
    expect(new URL(a).pathname).toMatch(/^\/t_surface_test_[0-9a-f]{8}$/)
    expect(a).not.toBe(b)
  })
})
