import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { decodeEvent, encodeEvent, type SessionEvent } from '@africhain/events'
import { latch, tally, waitFor } from '@africhain/testing'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { ConsumerOptions } from '../src/consumer.ts'
import { type Consumer, createConsumer, publish, readGroupInfo } from '../src/index.ts'
import { dropPrefix, failedLogin, testRedis, uniqueName } from './helpers.ts'

const redis = testRedis()
const consumers: Consumer[] = []

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop()))
})

afterAll(async () => {
  await dropPrefix(redis)
  redis.disconnect()
})

/**
 * What the consumers of a test saw: the entry ids the default handler got, its batches, and latches on
 * both counts, `handled(n)` and `acked(n)` (entries acknowledged: batches after their ack, through
 * `onBatch`, and dead letters, through `onDeadLetter`).
 */
function newSeen() {
  const handled = tally<string>('entries handled')
  const acked = tally<string>('entries acknowledged')
  return {
    ids: handled.items,
    batches: [] as { ids: string[]; deliveries: number[] }[],
    handled: handled.reached,
    acked: acked.reached,
    tallies: { handled, acked },
  }
}
type Seen = ReturnType<typeof newSeen>

function consumerFor(
  stream: string,
  overrides: Partial<ConsumerOptions<SessionEvent>> = {},
  seen: Seen = newSeen(),
): { consumer: Consumer; seen: Seen; group: string } {
  const group = overrides.group ?? 'analytics'
  const hooks = overrides.hooks ?? {}
  const consumer = createConsumer<SessionEvent>({
    redis,
    stream,
    group,
    consumer: 'c1',
    decode: decodeEvent,
    blockMs: 200,
    retryDelayMs: 10,
    handler: async (batch) => {
      seen.batches.push({ ids: batch.map((e) => e.event.id), deliveries: batch.map((e) => e.deliveries) })
      seen.tallies.handled.add(...batch.map((e) => e.event.id))
    },
    ...overrides,
    hooks: {
      ...hooks,
      onBatch: (b) => {
        seen.tallies.acked.add(...Array.from({ length: b.size }, () => b.source))
        hooks.onBatch?.(b)
      },
      onDeadLetter: (d) => {
        seen.tallies.acked.add(d.id)
        hooks.onDeadLetter?.(d)
      },
    },
  })
  consumers.push(consumer)
  return { consumer, seen, group }
}

async function pendingCount(stream: string, group = 'analytics'): Promise<number> {
  return (await readGroupInfo(redis, stream, group))?.pending ?? -1
}

describe('consumer group runner', () => {
  it('creates the group (MKSTREAM) under the key prefix and consumes the retained history', async () => {
    const stream = uniqueName('s')
    const early = [failedLogin(), failedLogin()]
    await publish(redis, stream, early)
    const { consumer, seen } = consumerFor(stream)
    await consumer.start()
    await consumer.start() // idempotent
    const later = failedLogin()
    await publish(redis, stream, [later])
    await seen.handled(3)
    expect(seen.ids).toEqual([...early, later].map((e) => e.id))
    await seen.acked(3)
    expect(await pendingCount(stream)).toBe(0)
    expect(await redis.exists(stream)).toBe(1) // the prefixed key, through the prefixed client
  })

  it('acknowledges only after the handler resolved', async () => {
    const stream = uniqueName('s')
    const gate = latch()
    const entered = latch()
    const { consumer, seen } = consumerFor(stream, {
      handler: async () => {
        entered.resolve()
        await gate.promise
      },
    })
    await consumer.start()
    await publish(redis, stream, [failedLogin()])
    await entered.promise
    expect(await pendingCount(stream)).toBe(1)
    gate.resolve()
    await seen.acked(1)
    expect(await pendingCount(stream)).toBe(0)
  })

  it('reads its own pending entries first after a restart', async () => {
    const stream = uniqueName('s')
    const crashed = [failedLogin(), failedLogin()]
    await publish(redis, stream, crashed)
    // A previous run of consumer c1 read these and died before acknowledging.
    await redis.xgroup('CREATE', `${redis.options.keyPrefix}${stream}`, 'analytics', '0', 'MKSTREAM')
    await redis.xreadgroup('GROUP', 'analytics', 'c1', 'COUNT', 10, 'STREAMS', stream, '>')
    const fresh = failedLogin()
    await publish(redis, stream, [fresh])

    const { consumer, seen } = consumerFor(stream)
    await consumer.start()
    await seen.handled(3)
    expect(seen.batches[0]).toEqual({ ids: crashed.map((e) => e.id), deliveries: [2, 2] })
    expect(seen.batches[1]).toEqual({ ids: [fresh.id], deliveries: [1] })
    await seen.acked(3)
    expect(await pendingCount(stream)).toBe(0)
  })

  it("claims a dead consumer's idle entries (XAUTOCLAIM)", async () => {
    const stream = uniqueName('s')
    const orphaned = [failedLogin(), failedLogin()]
    await publish(redis, stream, orphaned)
    await redis.xgroup('CREATE', `${redis.options.keyPrefix}${stream}`, 'analytics', '0', 'MKSTREAM')
    await redis.xreadgroup('GROUP', 'analytics', 'dead', 'COUNT', 10, 'STREAMS', stream, '>')

    const sources: string[] = []
    const { consumer, seen } = consumerFor(stream, {
      consumer: 'alive',
      claimIdleMs: 150,
      claimIntervalMs: 50,
      hooks: { onBatch: (b) => sources.push(b.source) },
    })
    await consumer.start()
    await seen.handled(2)
    expect(seen.ids).toEqual(orphaned.map((e) => e.id))
    // onBatch fires after the handler and the ack: wait for it rather than racing it.
    await seen.acked(2)
    expect(sources).toEqual(['claimed'])
    expect(seen.batches[0]!.deliveries).toEqual([2, 2])
    expect(await pendingCount(stream)).toBe(0)
  })

  it('dead-letters an entry that failed maxDeliveries times, with the reason, and keeps the rest flowing', async () => {
    const stream = uniqueName('s')
    const poison = failedLogin('poison')
    const good = [failedLogin(), failedLogin()]
    const attempts: number[] = []
    const handled: string[] = []
    const deadLetters: string[] = []
    const { consumer, seen } = consumerFor(stream, {
      maxDeliveries: 3,
      deadLetterStream: `${stream}:dead`,
      hooks: { onDeadLetter: (d) => deadLetters.push(d.id) },
      handler: async (batch) => {
        const bad = batch.find((e) => e.event.id === poison.id)
        if (bad) {
          attempts.push(bad.deliveries)
          throw new Error('cannot store this one')
        }
        handled.push(...batch.map((e) => e.event.id))
      },
    })
    await consumer.start()
    await publish(redis, stream, [good[0]!, poison, good[1]!])
    await seen.acked(3) // the two good entries, and the poison one once dead-lettered
    expect(deadLetters).toEqual([expect.any(String)])
    expect(attempts.at(-1)).toBe(3)
    expect(new Set(attempts)).toEqual(new Set([1, 2, 3]))
    expect(handled.sort()).toEqual(good.map((e) => e.id).sort())
    const dead = await redis.xrange(`${stream}:dead`, '-', '+')
    expect(dead).toHaveLength(1)
    const fields = dead[0]![1]
    const get = (name: string) => fields[fields.indexOf(name) + 1]
    expect(get('reason')).toMatch(/failed 3 deliveries: cannot store this one/)
    expect(get('deliveries')).toBe('3')
    const original = decodeEvent(fields)
    expect(original.ok && original.event.id).toBe(poison.id)
    expect(await pendingCount(stream)).toBe(0)
  })

  it('dead-letters an entry whose consumer kept dying on it, before handing it out again', async () => {
    const stream = uniqueName('s')
    const poison = failedLogin('crasher')
    await publish(redis, stream, [poison])
    await redis.xgroup('CREATE', `${redis.options.keyPrefix}${stream}`, 'analytics', '0', 'MKSTREAM')
    // Three deliveries to a consumer that died each time (the handler took the process down).
    await redis.xreadgroup('GROUP', 'analytics', 'c1', 'STREAMS', stream, '>')
    for (let i = 0; i < 2; i++) await redis.xreadgroup('GROUP', 'analytics', 'c1', 'STREAMS', stream, '0')
    const deadLetters: string[] = []
    const { consumer, seen } = consumerFor(stream, {
      maxDeliveries: 3,
      hooks: { onDeadLetter: (d) => deadLetters.push(d.id) },
    })
    await consumer.start()
    await seen.acked(1)
    expect(deadLetters).toHaveLength(1)
    expect(seen.ids).toEqual([])
    const [entry] = await redis.xrange(`${stream}:dead`, '-', '+')
    const fields = entry![1]
    expect(fields[fields.indexOf('reason') + 1]).toMatch(/consumer stopped or died/)
  })

  it('dead-letters undecodable entries at once', async () => {
    const stream = uniqueName('s')
    const deadLetters: string[] = []
    const { consumer, seen } = consumerFor(stream, {
      hooks: { onDeadLetter: (d) => deadLetters.push(d.id) },
    })
    await consumer.start()
    const garbageId = await redis.xadd(stream, '*', 'type', 'session.created', 'data', '{not json')
    const invalidId = await redis.xadd(stream, '*', 'type', 'x', 'data', JSON.stringify({ id: 'nope' }))
    const good = failedLogin()
    await redis.xadd(stream, '*', ...encodeEvent(good))
    await seen.acked(3)
    expect(seen.ids).toEqual([good.id])
    expect(deadLetters).toEqual([garbageId, invalidId])
    const dead = await redis.xrange(`${stream}:dead`, '-', '+')
    expect(dead.map(([, f]) => f[f.indexOf('reason') + 1])).toEqual([
      'undecodable: data is not JSON',
      'undecodable: data does not match the event schema',
    ])
    expect(await pendingCount(stream)).toBe(0)
  })

  it('retries a batch in place on a transient error without counting deliveries', async () => {
    const stream = uniqueName('s')
    let failures = 2
    const handled: number[] = []
    const deadLetters: string[] = []
    const transient = new Error('database unavailable')
    const { consumer, seen } = consumerFor(stream, {
      maxDeliveries: 1,
      isTransient: (err) => err === transient,
      hooks: { onDeadLetter: (d) => deadLetters.push(d.id) },
      handler: async (batch) => {
        if (failures-- > 0) throw transient
        handled.push(...batch.map((e) => e.deliveries))
      },
    })
    await consumer.start()
    await publish(redis, stream, [failedLogin()])
    await seen.acked(1)
    expect(handled).toEqual([1])
    expect(deadLetters).toEqual([])
  })

  it('creates the group again when the stream vanished (NOGROUP) and tells its owner', async () => {
    const stream = uniqueName('s')
    const created: string[] = []
    const { consumer, seen } = consumerFor(stream, {
      hooks: { onGroupCreated: (info) => void created.push(info.reason) },
    })
    await consumer.start()
    await publish(redis, stream, [failedLogin()])
    await seen.acked(1)
    await redis.del(stream) // Redis lost its data
    const after = failedLogin()
    await publish(redis, stream, [after])
    await seen.handled(2)
    expect(seen.ids[1]).toBe(after.id)
    expect(created).toEqual(['start', 'missing'])
  })

  // What the relay published again after Redis lost the stream (or the group) may be in the stream before
  // the consumer notices: a group created again must read it, whatever the first start reads from.
  // A destroyed group leaves the stream: its old entries are read again too (the handler dedupes them).
  it.each([
    ['the stream deleted', (s: string) => ['del', s], false],
    [
      'the group destroyed',
      (s: string) => ['xgroup', 'DESTROY', `${redis.options.keyPrefix}${s}`, 'analytics'],
      true,
    ],
  ])(
    'a group started at $ and created again after %s reads what was published meanwhile',
    async (_, lose, keeps) => {
      const stream = uniqueName('s')
      const created: string[] = []
      const { consumer, seen } = consumerFor(stream, {
        startId: '$',
        hooks: { onGroupCreated: (info) => void created.push(info.reason) },
      })
      await consumer.start()
      await publish(redis, stream, [failedLogin()])
      await seen.acked(1)
      const republished = [failedLogin(), failedLogin()]
      // The loss and the relay's republish land together, before the consumer's next read.
      const [cmd, ...args] = lose(stream)
      const multi = redis.multi().call(cmd!, ...args)
      for (const e of republished) multi.xadd(stream, '*', ...encodeEvent(e))
      await multi.exec()
      const first = seen.ids[0]!
      const expected = [...(keeps ? [first] : []), ...republished.map((e) => e.id)]
      await seen.handled(1 + expected.length)
      expect(seen.ids.slice(1)).toEqual(expected)
      expect(created).toEqual(['start', 'missing'])
    },
  )

  it('a group created again reads back `replayMs` only, not the whole retained history', async () => {
    const stream = uniqueName('s')
    const ancient = failedLogin()
    await redis.xadd(stream, '1-0', ...encodeEvent(ancient)) // far older than any replay window
    const { consumer, seen } = consumerFor(stream, { startId: '$', replayMs: 3_600_000 })
    await consumer.start()
    const recent = failedLogin()
    await redis
      .multi()
      .call('xgroup', 'DESTROY', `${redis.options.keyPrefix}${stream}`, 'analytics')
      .xadd(stream, '*', ...encodeEvent(recent))
      .exec()
    await seen.handled(1)
    expect(seen.ids).toEqual([recent.id])
  })

  it('stop() lets the in-flight batch finish and acknowledges it; start/stop are idempotent', async () => {
    const stream = uniqueName('s')
    const gate = latch()
    const entered = latch()
    let finished = false
    const { consumer } = consumerFor(stream, {
      handler: async () => {
        entered.resolve()
        await gate.promise
        finished = true
      },
    })
    await consumer.start()
    await publish(redis, stream, [failedLogin()])
    await entered.promise
    let stopped = false
    const stopping = consumer.stop().then(() => {
      stopped = true
    })
    await new Promise((r) => setTimeout(r, 100))
    expect(stopped).toBe(false)
    gate.resolve()
    await stopping
    await consumer.stop()
    expect(finished).toBe(true)
    expect(consumer.running).toBe(false)
    expect(await pendingCount(stream)).toBe(0)
    await expect(consumer.start()).rejects.toThrow(/stopped/)
  })

  it('stops promptly while blocked on a read, and through an external AbortSignal', async () => {
    const stream = uniqueName('s')
    const controller = new AbortController()
    const { consumer } = consumerFor(stream, { blockMs: 10_000, signal: controller.signal })
    await consumer.start()
    await new Promise((r) => setTimeout(r, 50))
    const begun = Date.now()
    controller.abort()
    await consumer.stop()
    // Structural, not a speed claim: stop cut the blocked read short instead of waiting out its 10 s block.
    expect(Date.now() - begun).toBeLessThan(10_000)
  })

  it('a short batch lingers up to lingerMs for more, then goes to the handler as one batch, in order', async () => {
    const stream = uniqueName('s')
    const lingerMs = 400
    const { consumer, seen } = consumerFor(stream, { lingerMs })
    await consumer.start()
    const first = failedLogin()
    const begun = Date.now()
    await publish(redis, stream, [first])
    await waitFor(async () => (await pendingCount(stream)) === 1, 'the first entry delivered')
    const more = [failedLogin(), failedLogin()]
    await publish(redis, stream, more) // inside the linger: joins the first entry's batch
    await seen.handled(3)
    const waited = Date.now() - begun
    expect(seen.batches.map((b) => b.ids)).toEqual([[first, ...more].map((e) => e.id)])
    // The wait is bounded: one linger (plus a blocking read that returned at once and one that does not block).
    expect(waited).toBeGreaterThanOrEqual(lingerMs - 50)
    expect(waited).toBeLessThan(lingerMs + 1500)
  })

  it('a full batch does not linger', async () => {
    const stream = uniqueName('s')
    const { consumer, seen } = consumerFor(stream, { lingerMs: 60_000, batchSize: 2 })
    await consumer.start()
    const events = [failedLogin(), failedLogin()]
    await publish(redis, stream, events)
    await seen.handled(2) // within the tally's 5 s, far below the minute a linger would take
    expect(seen.batches.map((b) => b.ids)).toEqual([events.map((e) => e.id)])
  })

  it('stop() during a linger handles what was read once, acknowledges it, and returns at once', async () => {
    const stream = uniqueName('s')
    const { consumer, seen } = consumerFor(stream, { lingerMs: 60_000 })
    await consumer.start()
    const events = [failedLogin(), failedLogin()]
    await publish(redis, stream, events)
    await waitFor(async () => (await pendingCount(stream)) === 2, 'both entries delivered')
    expect(seen.ids).toEqual([]) // lingering
    const begun = Date.now()
    await consumer.stop()
    expect(Date.now() - begun).toBeLessThan(5_000) // not the minute of the linger
    expect(seen.batches.map((b) => b.ids)).toEqual([events.map((e) => e.id)])
    expect(await pendingCount(stream)).toBe(0)
    // The same consumer name again: nothing of the first run is left to handle a second time.
    const later = failedLogin()
    const again = consumerFor(stream)
    await again.consumer.start()
    await publish(redis, stream, [later])
    await again.seen.handled(1)
    expect(again.seen.ids).toEqual([later.id])
  })

  it('two consumers in one group share the work without handing an entry to both', async () => {
    const stream = uniqueName('s')
    const seen = newSeen() // both consumers' entries, in one list
    const a = consumerFor(stream, { consumer: 'a', batchSize: 5 }, seen)
    const b = consumerFor(stream, { consumer: 'b', batchSize: 5 }, seen)
    await Promise.all([a.consumer.start(), b.consumer.start()])
    const events = Array.from({ length: 200 }, () => failedLogin())
    await publish(redis, stream, events)
    await seen.handled(200)
    expect(seen.ids).toHaveLength(200)
    expect(new Set(seen.ids).size).toBe(200)
  })

  it('starts while Redis is down and consumes once it is up (its own redis-server on a spare port)', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number }
        probe.close(() => resolve(port))
      })
    })
    const options = {
      port,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 100,
    }
    const down = new Redis(options)
    down.on('error', () => {})
    await down.connect().catch(() => {})
    const seen = tally<string>('entries handled')
    const created = latch()
    const consumer = createConsumer<SessionEvent>({
      redis: down,
      stream: 's',
      group: 'g',
      consumer: 'c',
      decode: decodeEvent,
      blockMs: 200,
      retryDelayMs: 20,
      maxRetryDelayMs: 200,
      handler: async (batch) => void seen.add(...batch.map((e) => e.event.id)),
      hooks: { onGroupCreated: () => created.resolve() },
    })
    consumers.push(consumer)
    await consumer.start() // does not throw: the loop keeps trying
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    try {
      const up = new Redis({ port, retryStrategy: () => 50 })
      up.on('error', () => {})
      const event = failedLogin()
      await waitFor(() => up.ping(), 'the redis-server to answer', 5000)
      await created.promise
      expect(await up.exists('s')).toBe(1) // the group was created (MKSTREAM)
      await publish(up, 's', [event])
      expect(await seen.reached(1)).toEqual([event.id])
      up.disconnect()
    } finally {
      await consumer.stop()
      down.disconnect()
      server.kill('SIGTERM')
    }
  })
})
