import type { RedisClient } from './redis-client.ts'

/**
 * ioredis applies `keyPrefix` to commands whose key position it knows, but not to XGROUP and XINFO (their
 * key follows a subcommand). Those calls go through this, so a prefixed client stays consistent.
 */
export function prefixedKey(redis: RedisClient, key: string): string {
  return `${redis.options.keyPrefix ?? ''}${key}`
}

export function isNoGroupError(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOGROUP')
}

export function isBusyGroupError(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('BUSYGROUP')
}

export function isNoSuchKeyError(err: unknown): boolean {
  return err instanceof Error && /no such key/i.test(err.message)
}
