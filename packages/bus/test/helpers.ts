import { randomBytes } from 'node:crypto'
import { newEvent, type SessionEvent } from '@africhain/events'
import { Redis } from 'ioredis'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A client whose keys all live under a random prefix, so test files never see each other's streams. */
export function testRedis(prefix = `test:bus:${randomBytes(4).toString('hex')}:`): Redis {
  return new Redis(REDIS_URL, { keyPrefix: prefix, maxRetriesPerRequest: 1 })
}

export function uniqueName(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`
}

export function failedLogin(userId = 'u1'): SessionEvent {
  return newEvent({ type: 'login.failed', userId, ip: '10.0.0.1', data: { reason: 'invalid_credentials' } })
}

/** Deletes every key under the client's prefix. */
export async function dropPrefix(redis: Redis): Promise<void> {
  const prefix = redis.options.keyPrefix ?? ''
  const raw = new Redis(REDIS_URL)
  try {
    const keys = await raw.keys(`${prefix}*`)
    if (keys.length > 0) await raw.del(...keys)
  } finally {
    raw.disconnect()
  }
}
