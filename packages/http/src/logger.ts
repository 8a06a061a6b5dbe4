import { createRequire } from 'node:module'
import type { FastifyServerOptions } from 'fastify'
import pino from 'pino'

/** Paths pino must never print: credentials and tokens wherever they appear in a logged object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'password',
  'refreshToken',
  'accessToken',
  'token',
  '*.password',
  '*.refreshToken',
  '*.accessToken',
  '*.token',
  '*.authorization',
]

// A JWS (three base64url segments, the first a JSON header) or one of our refresh tokens, anywhere in a path.
const TOKEN_LIKE = /eyJ[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*){0,2}|rt_[A-Za-z0-9_-]{16,}/g
const ESCAPE = /%([0-9A-Fa-f]{2})/g
/** Rounds of unescaping a path may need; a path escaped more deeply than this is not logged at all. */
const ESCAPE_ROUNDS = 8

/**
 * The path with its `%XX` escapes undone, each byte as one character, as often as they nest (`%255F` is
 * `%5F` is `_`), or null past ESCAPE_ROUNDS. A client may escape any character of a token (`%72t_…`,
 * `rt%5F…`, `%65yJ…`): the pattern is looked for in what the escapes stand for.
 */
function unescaped(path: string): string | null {
  let text = path
  for (let round = 0; round < ESCAPE_ROUNDS; round++) {
    const next = text.replace(ESCAPE, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
    if (next === text) return text
    text = next
  }
  return null
}

/**
 * A request URL as it may be logged: without its query string, and with anything shaped like a token in
 * the path masked, escaped or not (an escaped path with a token in it is logged unescaped, masked). A token
 * must never travel in a URL, but if a client puts one there it stays out of logs.
 */
export function loggableUrl(url: string): string {
  // Most paths have neither a query, nor an escape, nor anything the pattern can start with.
  if (!url.includes('?') && !url.includes('%') && !url.includes('eyJ') && !url.includes('rt_')) return url
  const path = url.split('?')[0]!
  const plain = unescaped(path)
  if (plain === null) return '[redacted: escaped too deeply]'
  const masked = plain.replace(TOKEN_LIKE, '[redacted]')
  return masked === plain ? path : masked
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/**
 * Coloured, one readable line per entry, for a person at a terminal. Resolved here (pino would look for it
 * from its own folder, where pnpm does not put it). Only on a TTY: pipes, files and log collectors get JSON.
 */
function prettyTransport() {
  return {
    target: createRequire(import.meta.url).resolve('pino-pretty'),
    options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname', singleLine: true },
  }
}

/**
 * Lines held in memory and handed to the synchronous stdout destination `LINE_BUFFER_CHARS` at a time: one
 * `write(2)` per ~16 KiB instead of one per line. With an access line per request, the synchronous write
 * per line was most of what logging cost a cheap request (`GET /auth/me`: 54 µs of CPU at info against 37
 * at warn, same run). The buffer is ours, not sonic-boom's `minLength`: sonic-boom appends each line to one
 * growing string and measures that string's UTF-8 length again on every write, a pass over everything
 * buffered so far per line. Here a line costs an array push; the join and the length are paid once per
 * write. Measured with 200,000 access-sized lines to a file: 2.1–2.8 µs of CPU per line through sonic-boom
 * with a 4 KiB `minLength`, 1.6–1.8 through this buffer, of which pino's own serialisation is ~1.0.
 */
/**
 * A line at `warn` or above (pino's level value 40) is written at once, with the lines held before it: a
 * process that dies by a signal it does not handle, aborts or runs out of memory runs no flush, and those are
 * the lines that say why. pino tells the stream each line's level (`lastLevel`) when the stream asks for it
 * (`needsMetadata`, as its own multistream does).
 */
export class LineBuffer {
  readonly [pino.symbols.needsMetadataGsym] = true
  /** The level of the line pino is about to write, set by pino before each `write`. */
  lastLevel = 0
  #lines: string[] = []
  #chars = 0
  readonly #out: { write(text: string): unknown }
  readonly #limit: number
  readonly #writeThroughLevel: number

  constructor(out: { write(text: string): unknown }, limit: number, writeThroughLevel = 40) {
    this.#out = out
    this.#limit = limit
    this.#writeThroughLevel = writeThroughLevel
  }

  write(line: string): void {
    this.#lines.push(line)
    this.#chars += line.length
    if (this.#chars >= this.#limit || this.lastLevel >= this.#writeThroughLevel) this.flush()
  }

  /** Hands what is held to the destination now (pino calls it as `flush(cb)`). */
  flush(cb?: (err?: Error) => void): void {
    if (this.#chars > 0) {
      const text = this.#lines.join('')
      this.#lines = []
      this.#chars = 0
      this.#out.write(text)
    }
    cb?.()
  }
}

/** How much a buffered stdout holds before it writes (characters; a line is ASCII but for user input). */
export const LINE_BUFFER_CHARS = 16_384

/**
 * JSON lines to stdout through a `LineBuffer`, flushed when it holds `LINE_BUFFER_CHARS`, every 100 ms, at
 * each line at `warn` or above, and when the process exits, so a line shows at most 100 ms late. What can
 * still be lost: the `info` and `debug` lines of the last 100 ms when the process ends without running
 * its 'exit' handlers — SIGKILL, a signal it has no handler for, `abort()`, running out of memory.
 * The exit flush is ours: pino registers one only for asynchronous destinations, and without it a
 * `process.exit` (a shutdown, its deadline) or a crash dropped the lines of its last 100 ms, the ones that
 * say why the process ended.
 *
 * The writes are synchronous, as pino's own default destination is: the asynchronous mode hands each
 * write to the thread pool and keeps appending to a string while it is in flight, which cost 3.4 µs of CPU
 * per line against 1.2 (200,000 access-sized lines to a file), and `GET /auth/me` ~44 µs against ~41 (same
 * run). A stdout that stops reading (a full pipe) then stalls the process, as it would with pino's default.
 */
let stdoutBuffer: LineBuffer | undefined
function bufferedStdout(): LineBuffer {
  // One per process: every app a process builds (tests build many) shares stdout.
  if (!stdoutBuffer) {
    const destination = pino.destination({ dest: 1, sync: true })
    const buffer = new LineBuffer(destination, LINE_BUFFER_CHARS)
    setInterval(() => buffer.flush(), 100).unref()
    // 'exit' runs on process.exit() and after an uncaught exception or rejection; only synchronous work.
    process.on('exit', () => {
      try {
        buffer.flush()
        destination.flushSync()
      } catch {
        // stdout already gone (EPIPE): nothing left to write to.
      }
    })
    stdoutBuffer = buffer
  }
  return stdoutBuffer
}

/**
 * pino options shared by every process; `stream` lets tests capture the output to grep it for tokens.
 * Without one: pretty on a TTY, buffered JSON lines otherwise. Redaction and serializers apply in both.
 */
export function loggerOptions(
  level: LogLevel,
  stream?: { write(line: string): void },
): NonNullable<FastifyServerOptions['logger']> {
  const pretty = !stream && process.stdout.isTTY === true
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        url: loggableUrl(req.url),
        ip: req.ip,
      }),
    },
    ...(pretty ? { transport: prettyTransport() } : { stream: stream ?? bufferedStdout() }),
  } as NonNullable<FastifyServerOptions['logger']>
}
