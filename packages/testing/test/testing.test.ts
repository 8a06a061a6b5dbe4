import { describe, expect, it } from 'vitest'
import { LogLines, latch, tally, waitFor } from '../src/index.ts'

describe('latches', () => {
  it('tally resolves once n items were added, at once when they already were', async () => {
    const seen = tally<string>('items', 1000)
    const three = seen.reached(3)
    seen.add('a')
    seen.add('b', 'c')
    expect(await three).toEqual(['a', 'b', 'c'])
    expect(await seen.reached(2)).toHaveLength(3)
  })

  it('tally fails after its deadline, naming what it waited for and how far it got', async () => {
    const seen = tally<number>('entries handled', 50)
    seen.add(1)
    await expect(seen.reached(2)).rejects.toThrow('2 entries handled not reached within 50 ms (1)')
  })

  it('LogLines resolves on the nth matching line from an index, and fails naming what', async () => {
    const log = new LogLines()
    log.write('{"msg":"old"}')
    const waiting = log.seen((l) => l.includes('"msg":"ready"'), 'the ready line', { n: 2, from: 1 })
    log.write('{"msg":"ready"}', '{"msg":"other"}')
    log.write('{"msg":"ready"}')
    expect(await waiting).toEqual(['{"msg":"ready"}', '{"msg":"ready"}'])
    await expect(
      log.seen((l) => l === 'never', 'a line that never comes', { timeoutMs: 50 }),
    ).rejects.toThrow('timed out waiting for a line that never comes (0 of 1 lines)')
  })

  it('latch resolves with the value given', async () => {
    const l = latch<number>()
    l.resolve(7)
    expect(await l.promise).toBe(7)
  })
})

describe('waitFor', () => {
  it('returns the first truthy value, and throws after the deadline with the last error', async () => {
    let n = 0
    expect(await waitFor(() => ++n >= 3 && n, 'three calls')).toBe(3)
    await expect(
      waitFor(
        () => {
          throw new Error('refused')
        },
        'a server',
        50,
      ),
    ).rejects.toThrow('timed out waiting for a server: refused')
  })
})
