import { Cluster, Redis, type RedisOptions } from 'ioredis'

/** A single Redis or a Redis Cluster: the commands the services use exist on both. */
export type RedisClient = Redis | Cluster

export type RedisSettings = {
  url: string
  clusterNodes?: { host: string; port: number }[] | undefined
  keyPrefix?: string | undefined
  commandTimeoutMs: number
}

/**
 * Commands a standalone client sends as they are, never through auto-pipelining. MGET is the verifier's
 * revocation check, which already gathers every read of an event-loop turn into one command
 * (verifier/session-state.ts): through auto-pipelining it waited for the turn's Pipeline, which ioredis
 * builds by copying every defined Lua command onto it, and most turns have nothing else to send. Measured
 * with the token service's four scripts and rate-limit's defined: 65–84 µs of CPU per MGET sent directly
 * against 108–141 µs through a Pipeline (20,000 MGETs of 14 keys, one per turn); `GET /auth/me` went from
 * ~97 to ~89 µs of token-service CPU (median of 6 alternating pairs). (A Cluster client checks with one
 * GET per key: those do share a write.)
 *
 * Sent directly, an MGET can reach Redis before a command auto-pipelined earlier in the same turn. The
 * revocation rule does not need that order: a revocation is acknowledged only after Redis answered its
 * write, so a request that starts after the acknowledgement reads after the write. Code that writes a
 * revocation must keep awaiting it before it answers (`markSessionRevoked`, verifier/state-writer.ts).
 */
const AUTO_PIPELINING_IGNORED = ['mget']

/**
 * A Redis (or Redis Cluster) client that fails fast: no offline queue, one retry, a timeout on every command.
 * While Redis is away, requests get 503 within the timeout instead of piling up.
 */
export function createRedisClient(s: RedisSettings): RedisClient {
  const options: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    // Concurrent requests' commands share one socket write: fewer syscalls on the hot path.
    enableAutoPipelining: true,
    autoPipeliningIgnoredCommands: AUTO_PIPELINING_IGNORED,
    maxRetriesPerRequest: 1,
    commandTimeout: s.commandTimeoutMs,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    ...(s.keyPrefix ? { keyPrefix: s.keyPrefix } : {}),
  }
  if (s.clusterNodes) {
    return new Cluster(s.clusterNodes, {
      lazyConnect: true,
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      ...(s.keyPrefix ? { keyPrefix: s.keyPrefix } : {}),
      redisOptions: { ...options, keyPrefix: undefined },
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    })
  }
  return new Redis(s.url, options)
}

/**
 * Connects, waiting at most `waitMs` for the first connection: a healthy start serves its first request,
 * and a start while Redis is down still comes up (answering 503) and keeps reconnecting in the background.
 */
export async function connectInBackground(
  redis: RedisClient,
  onError: (err: Error) => void,
  waitMs = 3_000,
): Promise<void> {
  let last = 0
  redis.on('error', (err: Error) => {
    // ioredis emits on every reconnect attempt; one line every 5 s is enough.
    if (Date.now() - last > 5_000) {
      last = Date.now()
      onError(err)
    }
  })
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    redis.connect().catch(() => {}),
    new Promise((resolve) => {
      timer = setTimeout(resolve, waitMs)
    }),
  ])
  clearTimeout(timer)
}
