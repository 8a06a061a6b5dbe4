import { hostList, optionalString, string, url } from './parsers.ts'

/**
 * The variables every service reads the same way: where Redis and the database are, and the listen address.
 * Each service's spec starts with these (the external contract's names and defaults).
 */
export const ConnectionSpec = {
  REDIS_URL: url('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
  /** `host:port,...`: use Redis Cluster instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: hostList,
  /** Prefix for every Redis key (streams, session state); services that share data use the same one. */
  REDIS_KEY_PREFIX: optionalString,
  DATABASE_URL: url('mysql://root@127.0.0.1:3306/africhain', ['mysql:']),
  HOST: string('127.0.0.1'),
} as const
