import fc from 'fast-check'
import Fastify from 'fastify'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { type AccessRecord, accessLine, accessLogPlugin } from '../src/access-log.ts'
import { LineBuffer, loggableUrl, loggerOptions } from '../src/logger.ts'
import { serverOptions } from '../src/server-options.ts'

// The access line is built by hand (access-log.ts) to spare pino's general pass on every request; it must
// be the line pino itself would write for the same record through the same logger, byte for byte.

/** What pino writes for `record` through a child without redaction of a logger made as the services make theirs. */
function pinoLine(record: AccessRecord, level: 'info' | 'debug'): { line: string; bindings: string } {
  const lines: string[] = []
  const root = pino(loggerOptions('debug', { write: (l) => lines.push(l) }) as pino.LoggerOptions, {
    write: (l: string) => lines.push(l),
  })
  const child = root.child({}, { redact: [] })
  child[level](record, 'request')
  const bindings = (child as unknown as Record<symbol, string>)[pino.symbols.chindingsSym]!
  return { line: lines[0]!, bindings }
}

/** The `time` field made equal (each line reads the clock itself). */
const timeOf = (line: string) => Number(/"time":(\d+)/.exec(line)![1])
const withTime = (line: string, time: number) => line.replace(/"time":\d+/, `"time":${time}`)

// Strings as they can reach the line: Node's parser hands a URL over as latin1 (every char below 0x100),
// and a route pattern is ours. Full Unicode is checked separately, by meaning.
const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)) })
const record = (text: fc.Arbitrary<string>) =>
  fc.record({
    reqId: text,
    method: text,
    route: fc.option(text, { nil: undefined }),
    url: text,
    status: fc.integer({ min: 100, max: 599 }),
    durationMs: fc.oneof(
      fc.integer({ min: 0, max: 10_000_000 }).map((n) => n / 10),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    ),
  })

describe('the access line (one per request, built without pino)', () => {
  it('is byte for byte the line pino writes for the same record, at info and at debug', () => {
    fc.assert(
      fc.property(record(latin1), fc.constantFrom('info' as const, 'debug' as const), (r, level) => {
        const { line, bindings } = pinoLine(r, level)
        const ours = accessLine(level === 'info' ? 30 : 20, timeOf(line), bindings, r)
        expect(ours).toBe(line)
      }),
      { numRuns: 500 },
    )
  })

  it('means what pino’s line means for any Unicode text (lone surrogates included)', () => {
    fc.assert(
      fc.property(record(fc.string({ unit: 'binary' })), (r) => {
        const { line, bindings } = pinoLine(r, 'info')
        const ours = accessLine(30, timeOf(line), bindings, r)
        expect(ours.endsWith('}\n')).toBe(true)
        expect(JSON.parse(ours)).toEqual(JSON.parse(withTime(line, timeOf(line))))
      }),
      { numRuns: 300 },
    )
  })

  it('the plugin writes it through the app’s stream: metadata first, so a LineBuffer holds it like any info line', async () => {
    const writes: string[] = []
    const buffer = new LineBuffer({ write: (t) => writes.push(t) }, 1 << 20)
    const app = Fastify(serverOptions({ logLevel: 'info', logStream: buffer, trustProxy: false }))
    await app.register(accessLogPlugin)
    app.get('/things/:id', async () => 'ok')
    app.get('/health/live', async () => 'ok')
    await app.inject({ method: 'GET', url: '/things/7?secret=1' })
    await app.inject({ method: 'GET', url: '/health/live' })
    await app.inject({ method: 'GET', url: '/nowhere' })
    expect(writes).toEqual([]) // held: info lines do not write through
    expect(buffer.lastLevel).toBe(30)
    buffer.flush()
    const lines = writes
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
    expect(lines.map((l) => [l.level, l.method, l.route, l.url, l.status, l.msg])).toEqual([
      [30, 'GET', '/things/:id', '/things/7', 200, 'request'],
      [30, 'GET', undefined, '/nowhere', 404, 'request'],
    ])
    expect(lines[0].pid).toBe(process.pid)
    await app.close()
  })
})

describe('loggableUrl', () => {
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const body = (n: number) => fc.string({ unit: fc.constantFrom(...B64), minLength: n, maxLength: n })
  // Tokens as they are issued: a refresh token and a JWS (header, payload, signature).
  const token = fc.oneof(
    body(43).map((b) => `rt_${b}`),
    fc.tuple(body(20), body(40), body(86)).map(([h, p, sig]) => `eyJ${h}.eyJ${p}.${sig}`),
  )
  /** Escapes each character with probability `p` (`%XX`, either case), `rounds` times over. */
  const escaped = (text: string, picks: number[], rounds: number) => {
    let out = text
    for (let r = 0; r < rounds; r++)
      out = [...out]
        .map((c, i) => {
          const pick = picks[(i + r * 7) % picks.length]!
          if (pick % 3 !== 0) return c
          const hex = c.charCodeAt(0).toString(16).padStart(2, '0')
          return `%${pick % 2 === 0 ? hex : hex.toUpperCase()}`
        })
        .join('')
    return out
  }
  /** Every escape undone, however deep (the oracle: what the client meant). */
  const meant = (text: string) => {
    let out = text
    for (let next = out; ; out = next) {
      next = out.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)))
      if (next === out) return out
    }
  }

  it('no token reaches the line, whichever of its characters are escaped and how often', () => {
    fc.assert(
      fc.property(
        token,
        fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom('/x/', '/auth/sessions/', '/'),
        fc.constantFrom('', '/more', '?q=1'),
        (t, picks, rounds, before, after) => {
          const logged = loggableUrl(`${before}${escaped(t, picks, rounds)}${after}`)
          const secret = t.startsWith('rt_') ? t.slice(3) : t.split('.')[1]!
          expect(meant(logged)).not.toContain(secret)
          expect(logged).toContain('[redacted')
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('a path with no token in it, escaped or not, is logged as it came (without its query)', () => {
    const piece = fc.constantFrom(
      '/',
      'a',
      '.',
      'eyJ',
      'rt_',
      'rt',
      '-',
      '%2D',
      '%2F',
      '%25',
      '%',
      'é',
      'x'.repeat(15),
    )
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
        (path) => {
          fc.pre(!/eyJ|rt_[A-Za-z0-9_-]{16}/.test(meant(path)))
          expect(loggableUrl(path)).toBe(path)
          expect(loggableUrl(`${path}?token=rt_${'a'.repeat(43)}`)).toBe(path)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it.each([
    ['/auth/me', '/auth/me'],
    ['/auth/sessions?limit=1', '/auth/sessions'],
    ['/x/eyJhbGciOi.eyJzdWIi.c2ln', '/x/[redacted]'],
    ['/x/rt_0123456789abcdefXYZ', '/x/[redacted]'],
    ['/x/rt_short', '/x/rt_short'],
    ['/x/rt_AAAAAAAAAA%2DBBBBBBBBBB', '/x/[redacted]'],
    ['/x/rt%5F0123456789abcdefXYZ', '/x/[redacted]'],
    ['/x/%72%74_0123456789abcdefXYZ', '/x/[redacted]'],
    ['/x/rt%255F0123456789abcdefXYZ', '/x/[redacted]'],
    ['/x/%65yJhbGciOi.%65yJzdWIi.c2ln/y', '/x/[redacted]/y'],
    ['/x/a%20b', '/x/a%20b'],
    [`/x/%${'25'.repeat(8)}41`, '[redacted: escaped too deeply]'],
    [`/x/%${'25'.repeat(6)}41`, `/x/%${'25'.repeat(6)}41`],
  ])('%s → %s', (url, logged) => {
    expect(loggableUrl(url)).toBe(logged)
  })
})
