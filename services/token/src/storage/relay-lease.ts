import { randomBytes } from 'node:crypto'
import type { RelayLease } from '@africhain/bus'
import { defineScripts, type RedisClient } from './redis-state.ts'

/**
 * A lease in Redis (lua/hold-lease-1.lua: take when free, extend when ours, in one step), held by a random
 * id per relay. A holder that dies loses it after `ms`; each round extends it.
 */
export function redisLease(redis: RedisClient, key: string, ms: number): RelayLease {
  defineScripts(redis)
  const holder = randomBytes(12).toString('base64url')
  return { hold: async () => (await redis.holdLease(key, holder, ms)) === 1 }
}
