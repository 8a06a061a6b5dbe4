import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SessionEvent } from '@africhain/events'
import { OwnRedis, waitFor } from '@africhain/testing'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createOutboxRelay, type OutboxRelayOptions, type RelayLease, readStreamInfo } from '../src/index.ts'
import { silentLogger } from '../src/logger.ts'
import { failedLogin, memoryOutbox, uniqueName } from './helpers.ts'

// Redis losing stream entries the consumers had not read: a redis-server of our own that we restart from an
// older snapshot or flush, so the relay's retained rows must be published again.
const dir = mkdtempSync(join(tmpdir(), 'africhain-bus-redis-'))
const own = new OwnRedis({ dir })
let redis: Redis

beforeAll(async () => {
  await own.start()
  redis = new Redis(own.url, { retryStrategy: () => 50 })
  redis.on('error', () => {}) // the tests restart this server on purpose
})
afterAll(async () => {
  redis?.disconnect()
  await own.stop()
  rmSync(dir, { recursive: true, force: true })
})
beforeEach(async () => {
  await redis.flushall()
})

const held: RelayLease = { hold: async () => true }
const events = (n: number, label: string) => Array.from({ length: n }, (_, i) => failedLogin(`${label}${i}`))

/** The event ids on the stream, in stream order. */
async function onStream(stream: string): Promise<string[]> {
  return (await redis.xrange(stream, '-', '+')).map(([, f]) => JSON.parse(f[3]!).id)
}

/** Restarts the server: it loads the last `SAVE`, so everything written after it is gone. */
async function restoreSnapshot(): Promise<void> {
  await own.stop()
  await own.start()
  await waitFor(async () => (await redis.ping().catch(() => '')) === 'PONG', 'redis back')
}

function relayFor(
  outbox: ReturnType<typeof memoryOutbox>,
  stream: string,
  extra: Partial<OutboxRelayOptions<SessionEvent>> = {},
) {
  const republished: number[] = []
  const relay = createOutboxRelay(outbox.store, held, {
    redis,
    stream,
    logger: silentLogger,
    batchSize: 4,
    onRepublish: (n) => republished.push(n),
    ...extra,
  })
  return { relay, republished }
}

describe('the outbox relay after Redis lost stream entries', () => {
  it('publishes again, in order and once each, what a restore from an older snapshot lost', async () => {
    const stream = uniqueName('rollback')
    const before = events(5, 'a')
    const after = events(6, 'b')
    const outbox = memoryOutbox(before)
    const { relay, republished } = relayFor(outbox, stream)
    await relay.flush()
    await redis.save() // the snapshot holds the first five
    for (const e of after) outbox.add(e)
    await relay.flush()
    expect(await onStream(stream)).toEqual([...before, ...after].map((e) => e.id))

    await restoreSnapshot()
    expect(await onStream(stream)).toEqual(before.map((e) => e.id)) // the six after it are gone
    await relay.flush()
    expect(republished).toEqual([6])
    expect(await onStream(stream)).toEqual([...before, ...after].map((e) => e.id))
    await relay.flush() // the stream is whole again: nothing more
    expect(republished).toEqual([6])
  })

  it('publishes every retained row again when the stream is gone (FLUSHALL, a restart without data)', async () => {
    const stream = uniqueName('flushed')
    const all = events(7, 'c')
    const outbox = memoryOutbox(all)
    const { relay, republished } = relayFor(outbox, stream)
    await relay.flush()
    await redis.flushall()
    await relay.flush()
    expect(republished).toEqual([7])
    expect(await onStream(stream)).toEqual(all.map((e) => e.id))
  })

  // Each loss while the events are still retained in the outbox: afterwards every event is on the stream
  // exactly once, in outbox order (what the stream kept, then what was published again).
  it.each<[string, (stream: string) => Promise<unknown>]>([
    ['FLUSHALL', () => redis.flushall()],
    ['the stream deleted', (stream) => redis.del(stream)],
    [
      'an older snapshot (the tail deleted, the last id set back)',
      async (stream) => {
        const ids = (await redis.xrange(stream, '-', '+')).map(([id]) => id)
        await redis.xdel(stream, ...ids.slice(4))
        await redis.xsetid(stream, ids[3]!)
      },
    ],
  ])('after %s every retained event is on the stream once', async (_, lose) => {
    const stream = uniqueName('loss')
    const all = events(9, 'l')
    const outbox = memoryOutbox(all)
    const { relay } = relayFor(outbox, stream)
    await relay.flush()
    await lose(stream)
    await relay.flush()
    const ids = await onStream(stream)
    expect([...ids].sort()).toEqual(all.map((e) => e.id).sort())
    expect(ids.slice(-5)).toEqual(all.slice(-5).map((e) => e.id))
  })

  it('a loss between the check and the XADD is seen: the check and the publish are one step', async () => {
    const stream = uniqueName('between')
    const first = events(3, 'm')
    const later = events(2, 'n')
    const outbox = memoryOutbox(first)
    let loseOnRead = false
    const store = {
      ...outbox.store,
      // The relay reads the outbox after its lease and before its XADD: Redis restarts empty right then.
      read: async (limit: number) => {
        if (loseOnRead) {
          loseOnRead = false
          await redis.flushall()
        }
        return outbox.store.read(limit)
      },
    }
    const republished: number[] = []
    const relay = createOutboxRelay(store, held, {
      redis,
      stream,
      logger: silentLogger,
      onRepublish: (n) => republished.push(n),
    })
    await relay.flush()
    for (const e of later) outbox.add(e)
    loseOnRead = true
    await relay.flush()
    expect(republished).toEqual([3])
    expect(await onStream(stream)).toEqual([...first, ...later].map((e) => e.id))
  })

  it('a relay that lost the lease and took it back reads what the other holder published', async () => {
    const stream = uniqueName('handover')
    const mine = events(3, 'o')
    const theirs = events(3, 'p')
    const outbox = memoryOutbox(mine)
    let holder = 'a'
    const lease = (name: string): RelayLease => ({ hold: async () => holder === name })
    const republished: number[] = []
    const relays = ['a', 'b'].map((name) =>
      createOutboxRelay(outbox.store, lease(name), {
        redis,
        stream,
        logger: silentLogger,
        onRepublish: (n) => republished.push(n),
      }),
    )
    await relays[0]!.flush()
    holder = 'b' // between two rounds of a: it never saw the lease go
    for (const e of theirs) outbox.add(e)
    await relays[1]!.flush()
    holder = 'a'
    // Redis goes back to before b's entries.
    const ids = (await redis.xrange(stream, '-', '+')).map(([id]) => id)
    await redis.xdel(stream, ...ids.slice(3))
    await redis.xsetid(stream, ids[2]!)
    await relays[0]!.flush()
    expect(republished).toEqual([3])
    expect(await onStream(stream)).toEqual([...mine, ...theirs].map((e) => e.id))
  })

  it('makes rows unpublished again in bounded batches, and stops when the lease goes', async () => {
    const stream = uniqueName('batches')
    const outbox = memoryOutbox(events(7, 'q'))
    const batches: number[] = []
    const store = {
      ...outbox.store,
      unpublishAfter: async (after: string | null, limit: number) => {
        const n = await outbox.store.unpublishAfter(after, limit)
        batches.push(n)
        return n
      },
    }
    let holds = Number.POSITIVE_INFINITY
    const lease: RelayLease = { hold: async () => holds-- > 0 }
    const relay = createOutboxRelay(store, lease, {
      redis,
      stream,
      logger: silentLogger,
      retentionBatch: 2,
    })
    await relay.flush()
    await redis.del(stream)
    holds = 2 // the round's own check, then one more batch
    await relay.runOnce()
    expect(batches).toEqual([2, 2])
    expect(outbox.waiting()).toBe(4)
    holds = Number.POSITIVE_INFINITY // the next holder finishes the job
    await relay.flush()
    expect(batches).toEqual([2, 2, 2, 1])
    expect(await onStream(stream)).toHaveLength(7)
  })

  it('a consumer group created after the loss reads each event once', async () => {
    const stream = uniqueName('group')
    const all = events(5, 'd')
    const outbox = memoryOutbox(all)
    const { relay } = relayFor(outbox, stream)
    await relay.flush()
    await redis.flushall()
    await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM') // the worker recreates its group first
    await relay.flush()
    const read = (await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 100, 'STREAMS', stream, '>')) as
      | [string, [string, string[]][]][]
      | null
    const ids = (read?.[0]?.[1] ?? []).map(([, f]) => JSON.parse(f[3]!).id)
    expect(ids).toEqual(all.map((e) => e.id))
  })

  it('publishes nothing again while nothing was lost: one XADD per event', async () => {
    const stream = uniqueName('intact')
    const all = events(9, 'e')
    const outbox = memoryOutbox(all.slice(0, 5))
    const { relay, republished } = relayFor(outbox, stream)
    await relay.flush()
    await redis.save()
    await restoreSnapshot() // a restart that loses nothing: the snapshot holds every entry
    for (const e of all.slice(5)) outbox.add(e)
    for (let i = 0; i < 5; i++) await relay.runOnce()
    await redis.xtrim(stream, 'MAXLEN', 3) // trimming lowers the length, not the last id
    await relay.flush()
    expect(republished).toEqual([])
    expect((await readStreamInfo(redis, stream))?.entriesAdded).toBe(9)
  })

  it('the janitor deletes only rows published longer ago than the retention, in bounded batches', async () => {
    const stream = uniqueName('janitor')
    const outbox = memoryOutbox(events(5, 'f'))
    const batches: number[] = []
    const store = {
      ...outbox.store,
      deletePublishedBefore: async (cutoff: Date, limit: number) => {
        const n = await outbox.store.deletePublishedBefore(cutoff, limit)
        batches.push(n)
        return n
      },
    }
    const relay = createOutboxRelay(store, held, {
      redis,
      stream,
      logger: silentLogger,
      retentionMs: 60_000,
      janitorMs: 0,
      retentionBatch: 2,
    })
    await relay.flush()
    outbox.age(61_000) // these five are past the retention
    for (const e of events(3, 'g')) outbox.add(e)
    batches.length = 0
    await relay.runOnce() // the janitor runs first, then the three are published (their retention begins)
    expect(batches).toEqual([2, 2, 1])
    expect(outbox.kept()).toBe(3)
    await relay.runOnce()
    expect(outbox.kept()).toBe(3) // within the retention: kept
    expect(await onStream(stream)).toHaveLength(8)
  })

  it('the janitor stops between batches when the lease goes', async () => {
    const stream = uniqueName('janitor-lease')
    const outbox = memoryOutbox(events(5, 'r'))
    let holds = Number.POSITIVE_INFINITY
    const relay = createOutboxRelay(
      outbox.store,
      { hold: async () => holds-- > 0 },
      { redis, stream, logger: silentLogger, retentionMs: 60_000, janitorMs: 0, retentionBatch: 2 },
    )
    await relay.flush()
    outbox.age(61_000)
    holds = 2 // the round's own check, then one between the janitor's batches
    await relay.runOnce()
    expect(outbox.kept()).toBe(1) // a third batch would have deleted it
  })

  it('two relays under one lease: only the holder publishes again, once', async () => {
    const stream = uniqueName('lease')
    const all = events(6, 'h')
    const outbox = memoryOutbox(all)
    const lease = (holder: string): RelayLease => ({
      hold: async () => {
        const ok = await redis.set(`${stream}:lease`, holder, 'PX', 60_000, 'NX')
        return ok === 'OK' || (await redis.get(`${stream}:lease`)) === holder
      },
    })
    const counts: number[] = []
    const relays = ['one', 'two'].map((h) =>
      createOutboxRelay(outbox.store, lease(h), {
        redis,
        stream,
        logger: silentLogger,
        onRepublish: (n) => counts.push(n),
      }),
    )
    await relays[0]!.flush()
    await redis.del(stream) // the stream is lost, the lease is kept
    await Promise.all(relays.flatMap((r) => [r.runOnce(), r.runOnce()]))
    expect(counts).toEqual([6])
    expect(await onStream(stream)).toEqual(all.map((e) => e.id))
  })
})
