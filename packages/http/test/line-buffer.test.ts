import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { LineBuffer } from '../src/logger.ts'

describe('LineBuffer (the buffered stdout of every service)', () => {
  it('holds lines until they reach the limit, then hands them over in one write, in order', () => {
    const writes: string[] = []
    const buffer = new LineBuffer({ write: (text) => writes.push(text) }, 20)
    buffer.write('{"n":1}\n')
    buffer.write('{"n":2}\n')
    expect(writes).toEqual([])
    buffer.write('{"n":3}\n')
    expect(writes).toEqual(['{"n":1}\n{"n":2}\n{"n":3}\n'])
    buffer.write('{"n":4}\n')
    expect(writes).toHaveLength(1)
  })

  it('flush hands over what is held, once, and calls back (pino calls it as flush(cb))', () => {
    const writes: string[] = []
    const buffer = new LineBuffer({ write: (text) => writes.push(text) }, 4096)
    buffer.write('a\n')
    let called = 0
    buffer.flush(() => called++)
    buffer.flush()
    expect(writes).toEqual(['a\n'])
    expect(called).toBe(1)
  })

  it('through pino, a line at warn or above is written at once with the lines held before it', () => {
    const writes: string[] = []
    const buffer = new LineBuffer({ write: (text) => writes.push(text) }, 4096)
    const log = pino({ level: 'debug' }, buffer)
    log.info('held')
    log.debug('held too')
    expect(writes).toEqual([])
    log.warn('now')
    expect(
      writes.map((w) =>
        w
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l).msg),
      ),
    ).toEqual([['held', 'held too', 'now']])
    log.error('at once')
    log.info('held again')
    expect(writes).toHaveLength(2)
  })
})
