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

/** Resolves when `predicate` holds, polling; fails the test after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T> | T,
  predicate: (v: T) => boolean = Boolean,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (predicate(value)) return value
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms (last: ${JSON.stringify(value)})`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A promise with its resolve function outside: a latch instead of a sleep. */
export function latch<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/**
 * A latch on a count: `add` what a callback saw; `reached(n)` resolves once n items were added (at once if
 * they already were) and fails after `timeoutMs`, naming what it waited for. For "n entries handled" where
 * the code calls back, instead of polling a length.
 */
export function tally<T>(what: string, timeoutMs = 5000) {
  const items: T[] = []
  const waiting = new Set<{ n: number; resolve: () => void }>()
  return {
    items,
    add(...added: T[]) {
      items.push(...added)
      for (const w of waiting) if (items.length >= w.n) w.resolve()
    },
    async reached(n: number): Promise<T[]> {
      if (items.length >= n) return items
      let timer: NodeJS.Timeout | undefined
      const w = { n, resolve: () => {} }
      try {
        await new Promise<void>((resolve, reject) => {
          w.resolve = resolve
          waiting.add(w)
          timer = setTimeout(
            () => reject(new Error(`${n} ${what} not reached within ${timeoutMs} ms (${items.length})`)),
            timeoutMs,
          )
        })
        return items
      } finally {
        clearTimeout(timer)
        waiting.delete(w)
      }
    },
  }
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
