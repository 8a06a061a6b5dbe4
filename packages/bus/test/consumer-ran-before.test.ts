import { decodeEvent, type SessionEvent } from '@africhain/events'
import { tally } from '@africhain/testing'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { type Consumer, createConsumer, publish } from '../src/index.ts'
import { dropPrefix, failedLogin, testRedis, uniqueName } from './helpers.ts'

// A group that went missing while its consumer was down (Redis lost its data during a deploy, a crash loop,
// a node failure that took both): created at `startId` (`$`), it would skip what the relay published
// meanwhile — new entries and the retained ones published again. `ranBefore` (the owner's durable record
// that the group existed) makes the start create it like one that went missing: reading `replayMs` back.
const redis = testRedis()
const consumers: Consumer[] = []
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop()))
})
afterAll(async () => {
  await dropPrefix(redis)
  redis.disconnect()
})

function start(stream: string, handled: ReturnType<typeof tally<string>>, ranBefore: boolean) {
  const consumer = createConsumer<SessionEvent>({
    redis,
    stream,
    group: 'token-service',
    consumer: `c-${consumers.length}`,
    decode: decodeEvent,
    blockMs: 200,
    retryDelayMs: 10,
    startId: '$',
    replayMs: 3_600_000,
    ranBefore: async () => ranBefore,
    handler: async (batch) => void handled.add(...batch.map((e) => e.event.id)),
  })
  consumers.push(consumer)
  return consumer.start()
}

describe('a group lost while its consumer was down', () => {
  it.each<[string, (stream: string) => Promise<unknown>]>([
    ['(control) nothing lost', async () => {}],
    ['Redis lost everything (the stream deleted)', (s) => redis.del(s)],
    [
      'the group destroyed',
      (s) => redis.xgroup('DESTROY', `${redis.options.keyPrefix}${s}`, 'token-service'),
    ],
  ])('%s: a consumer that ran before reads what the relay published meanwhile', async (_, lose) => {
    const stream = uniqueName('alerts')
    const handled = tally<string>('entries handled', 3000)
    await start(stream, handled, false)
    const first = failedLogin()
    await publish(redis, stream, [first])
    await handled.reached(1)
    await Promise.all(consumers.splice(0).map((c) => c.stop())) // the process stops (deploy, crash)
    await lose(stream)
    const meanwhile = [failedLogin(), failedLogin()]
    await publish(redis, stream, meanwhile) // the relay: a new entry, and a retained one again
    await start(stream, handled, true) // back, with its record: the group is missing at `start`
    await handled.reached(1 + meanwhile.length)
    expect(handled.items).toEqual(expect.arrayContaining(meanwhile.map((e) => e.id)))
  })

  it('a first start (nothing on record) begins at startId', async () => {
    const stream = uniqueName('alerts')
    const handled = tally<string>('entries handled', 3000)
    const before = failedLogin()
    await publish(redis, stream, [before])
    await start(stream, handled, false)
    const after = failedLogin()
    await publish(redis, stream, [after])
    await handled.reached(1)
    expect(handled.items).toEqual([after.id])
  })
})
