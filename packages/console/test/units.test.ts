import { describe, expect, it } from 'vitest'
import { csv } from '../src/format.ts'
import { last24Hours, rollingSeries, SERIES } from '../src/rolling.ts'
import { parseRoute } from '../src/router.ts'
import { readSse, type SseMessage } from '../src/sse.ts'
import type { DailyReport } from '../src/types.ts'

// The console's pure parts, outside the browser: the SSE reader, the CSV writer, the routes.

/** A response whose body arrives in exactly these chunks. */
function chunked(chunks: string[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(new TextEncoder().encode(c))
      controller.close()
    },
  })
  return new Response(body)
}

async function read(chunks: string[]): Promise<SseMessage[]> {
  const messages: SseMessage[] = []
  await readSse(chunked(chunks), (m) => messages.push(m), new AbortController().signal)
  return messages
}

describe('readSse', () => {
  const stream =
    'retry: 3000\n: connected\n\nid: 1-0\nevent: user.locked\ndata: {"a":1}\n\n: heartbeat\n\nevent: end\ndata: {"reason":"TOKEN_REVOKED"}\n\n'
  const expected = [
    { event: 'user.locked', id: '1-0', data: '{"a":1}' },
    { event: 'end', data: '{"reason":"TOKEN_REVOKED"}' },
  ]

  it.each([
    ['one chunk', [stream]],
    ['a chunk per character', [...stream]],
    [
      'chunks cut inside the blank line',
      stream.split('\n\n').flatMap((part, i, all) => (i < all.length - 1 ? [`${part}\n`, '\n'] : [part])),
    ],
    ['CRLF line ends', [stream.replaceAll('\n', '\r\n')]],
  ])('parses events, ids and comments from %s', async (_name, chunks) => {
    expect(await read(chunks)).toEqual(expected)
  })

  it('joins multi-line data and defaults the event name to message', async () => {
    expect(await read(['data: a\ndata: b\n\n'])).toEqual([{ event: 'message', data: 'a\nb' }])
  })

  it('drops a block without data and an unterminated last block', async () => {
    expect(await read(['event: x\n\nevent: y\ndata: 1'])).toEqual([])
  })
})

describe('csv', () => {
  it.each([
    ['plain cells', [['a', 1]], 'a,1\r\n'],
    ['a comma and a quote', [['x,y', 'say "hi"']], '"x,y","say ""hi"""\r\n'],
    ['a newline', [['two\nlines']], '"two\nlines"\r\n'],
    ['a formula', [['=HYPERLINK("x")']], `"'=HYPERLINK(""x"")"\r\n`],
    ['a leading @, + or -', [['@SUM(A1)', '+1', '-1']], "'@SUM(A1),'+1,'-1\r\n"],
    ['negative numbers, which stay numbers', [[-3]], '-3\r\n'],
  ])('writes %s', (_name, rows, text) => {
    expect(csv(rows)).toBe(text)
  })
})

describe('parseRoute', () => {
  it.each([
    ['', { page: 'overview' }],
    ['#/flagged', { page: 'flagged' }],
    ['#/users/abc%2Fdef', { page: 'user', userId: 'abc/def' }],
    ['#/ips/2001%3Adb8%3A%3A1', { page: 'ip', ip: '2001:db8::1' }],
    ['#/report/2026-12-01', { page: 'report', date: '2026-12-01' }],
    ['#/users/', { page: 'find' }],
    ['#/nowhere', { page: 'overview' }],
    // A link with a broken escape threw URIError while rendering: a blank console until the URL was edited.
    ['#/users/%E0%A4%A', { page: 'find' }],
    ['#/ips/%', { page: 'find' }],
    ['#/report/%zz', { page: 'report' }],
  ])('%s', (hash, route) => {
    expect(parseRoute(hash)).toEqual(route)
  })
})

describe('last24Hours', () => {
  const day = (base: number) => Array.from({ length: 24 }, (_, h) => base + h)
  it.each([
    [0, 'one hour of today'],
    [13, 'an afternoon'],
    [23, 'the whole of today'],
  ])('at %sh UTC (%s) stitches the two windows from three days', (hour) => {
    const r = last24Hours([day(100), day(200), day(300)], hour)
    expect(r.current).toHaveLength(24)
    expect(r.previous).toHaveLength(24)
    expect(r.current.at(-1)).toBe(300 + hour) // ends with the current hour of today
    expect(r.current[0]).toBe(hour === 23 ? 300 : 200 + hour + 1)
    expect(r.previous.at(-1)).toBe(200 + hour)
    expect(r.hours.at(-1)).toBe(hour)
    expect(r.hours[0]).toBe((hour + 1) % 24)
  })
})

describe('rollingSeries', () => {
  // Every figure says where it came from: day d (0 = two days ago), series s, hour h → d*10000 + s*100 + h.
  const report = (d: number) => {
    const hours = (s: number) => Array.from({ length: 24 }, (_, h) => d * 10_000 + s * 100 + h)
    const [events, logins, failedLogins, refreshes, revocations, reuseDetections] = SERIES.map((_, s) =>
      hours(s),
    )
    return {
      hourly: events,
      hourlyByType: { logins, failedLogins, refreshes, revocations, reuseDetections },
    } as unknown as DailyReport
  }
  const origin = (n: number) => ({
    day: Math.floor(n / 10_000),
    series: Math.floor(n / 100) % 100,
    hour: n % 100,
  })

  it.each([0, 9, 23])('at %sh UTC stitches each type from its own series, hour by hour', (hour) => {
    const r = rollingSeries([report(1), report(2), report(3)], hour)
    expect(Object.keys(r.current).sort()).toEqual(SERIES.map((s) => s.key).sort())
    SERIES.forEach(({ key }, s) => {
      for (const [window, lastDay] of [
        [r.current[key], 3],
        [r.previous[key], 2],
      ] as const) {
        expect(window).toHaveLength(24)
        window.forEach((n, i) => {
          const from = origin(n)
          expect(from.series, `${key} [${i}]`).toBe(s)
          expect(from.hour, `${key} [${i}]`).toBe(r.hours[i])
          // Hours after the current one come from the day before the window's last day.
          expect(from.day, `${key} [${i}]`).toBe(r.hours[i]! > hour ? lastDay - 1 : lastDay)
        })
      }
    })
    expect(r.current.events).toEqual(
      last24Hours([report(1).hourly, report(2).hourly, report(3).hourly], hour).current,
    )
  })
})
