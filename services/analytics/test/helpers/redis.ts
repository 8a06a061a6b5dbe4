import { waitFor } from '@africhain/testing'
import { Redis } from 'ioredis'
import type { AnalyticsConfig } from '../../src/config.ts'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

export function redisFor(config: AnalyticsConfig): Redis {
  return new Redis(config.REDIS_URL, {
    maxRetriesPerRequest: 1,
    ...(config.REDIS_KEY_PREFIX ? { keyPrefix: config.REDIS_KEY_PREFIX } : {}),
  })
}

/** Deletes every key under the config's prefix and closes the client. */
export async function dropRedis(redis: Redis): Promise<void> {
  const prefix = redis.options.keyPrefix ?? ''
  const raw = new Redis(REDIS_URL)
  try {
    const keys = await raw.keys(`${prefix}*`)
    if (keys.length > 0) await raw.del(...keys)
  } finally {
    raw.disconnect()
    redis.disconnect()
  }
}

/** waitFor for the worker tests' waits on stored state, where no callback reports it. */
export function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  return waitFor(check, 'stored state', timeoutMs)
}
