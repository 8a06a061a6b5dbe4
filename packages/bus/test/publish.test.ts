import { decodeEvent } from '@africhain/events'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { compareStreamIds, publish, readGroupInfo, readStreamInfo } from '../src/index.ts'
import { publishIfIntact } from '../src/publish-if-intact.ts'
import { dropPrefix, failedLogin, REDIS_URL, testRedis, uniqueName } from './helpers.ts'

const redis = testRedis()
afterAll(async () => {
  await dropPrefix(redis)
  redis.disconnect()
})

describe('publish', () => {
  it('appends every event with fields type and data, in order', async () => {
    const stream = uniqueName('p')
    const events = [failedLogin('a'), failedLogin('b')]
    const ids = await publish(redis, stream, events)
    expect(ids).toHaveLength(2)
    const entries = await redis.xrange(stream, '-', '+')
    expect(entries.map(([id]) => id)).toEqual(ids)
    expect(entries[0]![1].slice(0, 2)).toEqual(['type', 'login.failed'])
    expect(entries.map(([, f]) => decodeEvent(f))).toEqual(events.map((event) => ({ ok: true, event })))
    expect(await publish(redis, stream, [])).toEqual([])
  })

  it('caps the stream approximately with MAXLEN ~', async () => {
    const stream = uniqueName('p')
    for (let i = 0; i < 10; i++)
      await publish(
        redis,
        stream,
        Array.from({ length: 100 }, () => failedLogin()),
        100,
      )
    const length = await redis.xlen(stream)
    expect(length).toBeLessThan(1000)
    expect(length).toBeGreaterThanOrEqual(100)
  })
})

describe('stream info', () => {
  it('reads XINFO STREAM and GROUPS through the key prefix; null when missing', async () => {
    const stream = uniqueName('p')
    expect(await readStreamInfo(redis, stream)).toBeNull()
    expect(await readGroupInfo(redis, stream, 'g')).toBeNull()
    const ids = await publish(redis, stream, [failedLogin(), failedLogin(), failedLogin()])
    await redis.xgroup('CREATE', `${redis.options.keyPrefix}${stream}`, 'g', '0')
    await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 1, 'STREAMS', stream, '>')
    const info = await readStreamInfo(redis, stream)
    expect(info).toMatchObject({
      length: 3,
      firstEntryId: ids[0],
      lastEntryId: ids[2],
      lastGeneratedId: ids[2],
      entriesAdded: 3,
    })
    expect(await readGroupInfo(redis, stream, 'g')).toEqual({
      name: 'g',
      consumers: 1,
      pending: 1,
      lastDeliveredId: ids[0],
      entriesRead: 1,
      lag: 2,
    })
    expect(await readGroupInfo(redis, stream, 'other')).toBeNull()
  })

  it('the relay publishes through an auto-pipelining client busy with other commands', async () => {
    const busy = new Redis(REDIS_URL, { keyPrefix: redis.options.keyPrefix!, enableAutoPipelining: true })
    try {
      const stream = uniqueName('auto')
      // Same tick: the PING opens an auto-pipeline before the relay's first script call.
      const [pong, result] = await Promise.all([
        busy.ping(),
        publishIfIntact(busy, stream, null, [failedLogin()]),
      ])
      expect(pong).toBe('PONG')
      expect('published' in result && result.published).toHaveLength(1)
      expect(await busy.xlen(stream)).toBe(1)
    } finally {
      busy.disconnect()
    }
  })

  // Redis takes any 64-bit time part in an explicit id (XADD, XSETID): up to 20 digits, past a double's precision.
  it.each([
    ['10-0', '9-5', 1],
    ['5-10', '5-9', 1],
    ['5-1', '5-1', 0],
    ['0-0', '1-0', -1],
    ['18446744073709551615-0', '9999999999999999-5', 1],
    ['9007199254740993-0', '9007199254740992-7', 1],
    ['18446744073709551615-18446744073709551615', '18446744073709551615-18446744073709551614', 1],
    ['12345678901234567890-3', '12345678901234567890-3', 0],
  ])('orders stream ids numerically: %s vs %s', (a, b, sign) => {
    expect(Math.sign(compareStreamIds(a, b))).toBe(sign)
    expect(Math.sign(compareStreamIds(b, a)) + sign).toBe(0)
  })

  it.each(['x', '1', '1-', '-1', '1-2-3', '123456789012345678901-0'])('refuses %s as a stream id', (id) => {
    expect(() => compareStreamIds(id, '1-0')).toThrow(/not a stream id/)
  })
})
