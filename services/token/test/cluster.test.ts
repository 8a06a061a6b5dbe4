import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { authed, cleanup, signIn, startApp, type TestApp, testConfig } from './helpers/app.ts'

// Meaningful in the token-cluster project (see vitest.workspace.ts): proves the app really talks to a cluster.
const onCluster = Boolean(inject('redisClusterNodes'))
const config = testConfig('cluster')
let app: TestApp

beforeAll(async () => {
  if (onCluster) app = await startApp(config)
})
afterAll(async () => {
  await app?.close()
  await cleanup(config)
})

describe.skipIf(!onCluster)('on Redis Cluster', () => {
  it('runs on a 3-master cluster and spreads session keys over its slots', async () => {
    expect(config.REDIS_CLUSTER_NODES).toHaveLength(3)
    expect(app.redis).toBeInstanceOf(Cluster)
    const users = await Promise.all(Array.from({ length: 12 }, () => signIn(app)))
    const masters = (app.redis as Cluster).nodes('master')
    const perNode = await Promise.all(
      masters.map(async (node) => (await node.keys(`${config.REDIS_KEY_PREFIX}s:{*`)).length),
    )
    expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1)
    await authed(app, 'POST', '/auth/logout', users[0]!.pair.accessToken)
    expect((await authed(app, 'GET', '/auth/me', users[0]!.pair.accessToken)).json().code).toBe(
      'TOKEN_REVOKED',
    )
  })
})
