import fc from 'fast-check'
import Fastify from 'fastify'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { type AccessRecord, accessLine, accessLogPlugin } from '../src/access-log.ts'
import { LineBuffer, loggableUrl, loggerOptions, TOKEN_LIKE } from '../src/logger.ts'
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
  /** The rule without its shortcut for paths that have nothing to remove. */
  const slow = (url: string) => url.split('?')[0]!.replace(TOKEN_LIKE, '[redacted]')
  const pieces = fc.constantFrom(
    '/',
    'a',
    '?',
    '.',
    'eyJ',
    'hbGc',
    'rt_',
    'rt%5F',
    'rt%5f',
    'x'.repeat(16),
    '-',
    '%2D',
    '%2F',
    '%2E',
    '%',
    'é',
  )

  it('gives what the full rule gives for any path, shortcut or not', () => {
    fc.assert(
      fc.property(
        fc.array(pieces, { maxLength: 12 }).map((p) => p.join('')),
        (url) => {
          expect(loggableUrl(url)).toBe(slow(url))
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
    ['/x/eyJhbGciOi%2EeyJzdWIi%2Ec2ln/y', '/x/[redacted]/y'],
  ])('%s → %s', (url, logged) => {
    expect(loggableUrl(url)).toBe(logged)
  })
})
