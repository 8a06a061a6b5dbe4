import { randomBytes } from 'node:crypto'
import { newEvent, type SessionEvent } from '@africhain/events'
import { Redis } from 'ioredis'
import { compareStreamIds, type OutboxStore } from '../src/index.ts'

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

type Row = { event: SessionEvent; streamId?: string; publishedAt?: number }

/**
 * An outbox held in memory with the relay's whole store contract (what is read, published with which stream
 * id, made unpublished again and deleted), so the relay's own rules are tested without a database.
 */
export function memoryOutbox(events: SessionEvent[]) {
  const rows = new Map<number, Row>(events.map((event, i) => [i, { event }]))
  let reads = 0
  const published = () => [...rows].filter(([, r]) => r.streamId !== undefined)
  const store: OutboxStore<SessionEvent> = {
    read: async (limit) => {
      reads++
      const waiting = [...rows].filter(([, r]) => r.streamId === undefined).slice(0, limit)
      return waiting.map(([key, r]) => ({ key, event: r.event }))
    },
    markPublished: async (done) => {
      for (const { key, streamId } of done)
        Object.assign(rows.get(key as number)!, { streamId, publishedAt: Date.now() })
    },
    backlog: async () => rows.size - published().length,
    highestPublished: async () =>
      published().reduce<string | null>(
        (max, [, r]) => (max && compareStreamIds(max, r.streamId!) >= 0 ? max : r.streamId!),
        null,
      ),
    unpublishAfter: async (after, limit) => {
      const lost = published()
        .filter(([, r]) => after === null || compareStreamIds(r.streamId!, after) > 0)
        .slice(0, limit)
      for (const [, r] of lost) delete r.streamId
      return lost.length
    },
    deletePublishedBefore: async (cutoff, limit) => {
      const old = published()
        .filter(([, r]) => r.publishedAt! < cutoff.getTime())
        .slice(0, limit)
      for (const [key] of old) rows.delete(key)
      return old.length
    },
  }
  let next = events.length + 1000
  return {
    store,
    add: (e: SessionEvent) => rows.set(next++, { event: e }),
    /** Rows not yet published. */
    waiting: () => rows.size - published().length,
    /** Rows kept (published or not). */
    kept: () => rows.size,
    reads: () => reads,
    /** Makes every published row look `ms` older (the janitor's clock). */
    age: (ms: number) => {
      for (const [, r] of published()) r.publishedAt! -= ms
    },
  }
}
