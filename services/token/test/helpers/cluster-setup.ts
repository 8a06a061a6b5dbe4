import type { TestProject } from 'vitest/node'
import { startLocalRedisCluster } from '../../../../infra/scripts/redis-cluster.ts'

declare module 'vitest' {
  interface ProvidedContext {
    redisClusterNodes: string
  }
}

/**
 * Global setup of the `token-cluster` project: a real 3-master Redis Cluster, so the rotation, revocation,
 * rate-limit and stream tests run on a cluster too.
 */
export default async function setup(project: TestProject) {
  const cluster = await startLocalRedisCluster()
  project.provide('redisClusterNodes', cluster.nodes)
  return () => cluster.stop()
}
