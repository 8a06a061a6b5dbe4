import type { SessionEvent } from '@africhain/events'
import { afterAll, describe, expect, it } from 'vitest'
import { backoffDelay, createOutboxRelay, type RelayLease, sleep } from '../src/index.ts'
import { silentLogger } from '../src/logger.ts'
import { dropPrefix, failedLogin, memoryOutbox, testRedis, uniqueName } from './helpers.ts'

const redis = testRedis()
afterAll(async () => {
  await dropPrefix(redis)
  redis.disconnect()
})

const held: RelayLease = { hold: async () => true }

describe('createOutboxRelay', () => {
  it('publishes every waiting event in order, in batches, and marks them', async () => {
    const stream = uniqueName('relay')
    const events = Array.from({ length: 7 }, (_, i) => failedLogin(`u${i}`))
    const outbox = memoryOutbox(events)
    const backlog: number[] = []
    const relay = createOutboxRelay(outbox.store, held, {
      redis,
      stream,
      logger: silentLogger,
      batchSize: 3,
      onBacklog: (n) => backlog.push(n),
    })
    await relay.flush()
    const published = (await redis.xrange(stream, '-', '+')).map(([, f]) => JSON.parse(f[3]!).id)
    expect(published).toEqual(events.map((e) => e.id))
    expect(outbox.waiting()).toBe(0)
    expect(backlog).toEqual([4, 1, 0])
  })

  it('publishes nothing without the lease, and everything once it is held', async () => {
    const stream = uniqueName('relay')
    const outbox = memoryOutbox([failedLogin('a'), failedLogin('b')])
    let mine = false
    const relay = createOutboxRelay(
      outbox.store,
      { hold: async () => mine },
      { redis, stream, logger: silentLogger },
    )
    expect(await relay.runOnce()).toBe(0)
    expect(await redis.xlen(stream)).toBe(0)
    mine = true
    expect(await relay.runOnce()).toBe(2)
    expect(await redis.xlen(stream)).toBe(2)
  })

  it('a nudge publishes at once instead of at the next poll; stop releases the lease', async () => {
    const stream = uniqueName('relay')
    const outbox = memoryOutbox([])
    let released = 0
    let published: (() => void) | undefined
    const relay = createOutboxRelay(
      outbox.store,
      { hold: async () => true, release: async () => void released++ },
      { redis, stream, logger: silentLogger, pollMs: 60_000, lingerMs: 0, onPublished: () => published?.() },
    )
    relay.start()
    for (let i = 0; i < 200 && outbox.reads() === 0; i++) await sleep(5) // the first round: nothing yet
    outbox.add(failedLogin('late'))
    const done = new Promise<void>((resolve) => {
      published = resolve
    })
    relay.nudge() // without it the relay would look again in a minute
    await done
    expect(await redis.xlen(stream)).toBe(1)
    expect(outbox.waiting()).toBe(0)
    await relay.stop()
    expect(released).toBe(1)
  })
})

describe('backoffDelay', () => {
  it.each([
    [0, 100, 50],
    [1, 200, 100],
    [3, 800, 400],
    [10, 2_000, 1_000],
  ])('attempt %i waits between half and all of %i ms', (attempt, ceiling, floor) => {
    const b = { baseMs: 100, maxMs: 2_000 }
    expect(backoffDelay(attempt, b, () => 0)).toBe(floor)
    expect(backoffDelay(attempt, b, () => 0.999_999)).toBeCloseTo(ceiling, 0)
  })

  it('an aborted sleep returns at once', async () => {
    const abort = new AbortController()
    const began = Date.now()
    const slept = sleep(60_000, abort.signal)
    abort.abort()
    await slept
    expect(Date.now() - began).toBeLessThan(1_000)
  })
})
