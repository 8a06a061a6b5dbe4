import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import pino, { type Logger } from 'pino'
import { HEALTH_PATHS } from './health.ts'
import { loggableUrl } from './logger.ts'

/** Probes and scrapes arrive every few seconds and say nothing about users: their lines are at debug. */
const QUIET_ROUTES = new Set([HEALTH_PATHS.live, HEALTH_PATHS.ready, '/metrics'])

/**
 * One access line per request, at `info`, when the response has gone out: the request id, method, route
 * (the pattern, so ids do not make every line unique), the path as it may be logged (`loggableUrl`), status
 * and duration in ms. With `disableRequestLogging` (serverOptions) it replaces Fastify's two lines per
 * request. At `debug` a `request received` line also marks the start, so a request still in flight can be
 * seen (the graceful-shutdown test latches on it).
 *
 * The line is the one pino would write for `log.info(record, 'request')` through a child of the app's
 * logger without redaction — same bytes, same stream, same level rule (`test/access-line.test.ts` holds
 * the two to each other) — but built by `accessLine` below instead of pino's general pass. Every value in
 * it is ours: Fastify's generated request id, the method Node's parser accepted, the route pattern, the
 * masked path, two numbers; no redaction path can match them, and each string goes through JSON.stringify.
 * What pino would add to a line and this does not — a `mixin`, `formatters`, another `timestamp` or
 * `messageKey`, `hooks.streamWrite` — must not be configured for the services' loggers (loggerOptions,
 * logger.ts), or added here at the same time: the test builds its pino from loggerOptions and fails when
 * the two lines part.
 * Measured on the token service's `GET /auth/me`: without the redaction pass 48 → 41 µs of CPU per request
 * (same run), and without pino's serialisation a median 97 → 93.5 µs more (8 alternating pairs, on a
 * machine half as fast). Every other line goes through pino as before.
 */
export const accessLogPlugin = fp(
  async (app: FastifyInstance) => {
    const access = app.log.child({}, { redact: [] }) as unknown as Logger
    // Registered only when it can print: the level is the app's, fixed when it is built.
    if (app.log.level === 'debug' || app.log.level === 'trace')
      app.addHook('onRequest', (request, _reply, done) => {
        request.log.debug({ method: request.method, url: loggableUrl(request.url) }, 'request received')
        done()
      })
    // Callback hooks, here and in the other per-request plugins: an async one costs a promise and a
    // microtask per request for work that never waits.
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url
      const level = route !== undefined && QUIET_ROUTES.has(route) ? DEBUG : INFO
      if (level >= access.levelVal)
        writeLine(access, level, {
          reqId: request.id,
          method: request.method,
          route,
          url: loggableUrl(request.url),
          status: reply.statusCode,
          durationMs: Math.round(reply.elapsedTime * 10) / 10,
        })
      done()
    })
  },
  { name: 'access-log', fastify: '5.x' },
)

const DEBUG = 20
const INFO = 30

export type AccessRecord = {
  reqId: string
  method: string
  /** The route pattern; absent for a request no route matched (pino leaves out undefined values). */
  route: string | undefined
  url: string
  status: number
  durationMs: number
}

/**
 * pino's line for `{ level, time, <the logger's bindings>, ...record, msg: 'request' }`: its field order,
 * its number form (a finite number as JavaScript prints it), strings as JSON.stringify writes them, and a
 * route left out when there is none.
 */
export function accessLine(level: number, time: number, bindings: string, r: AccessRecord): string {
  const route = r.route === undefined ? '' : `,"route":${JSON.stringify(r.route)}`
  return (
    `{"level":${level},"time":${time}${bindings},"reqId":${JSON.stringify(r.reqId)},` +
    `"method":${JSON.stringify(r.method)}${route},"url":${JSON.stringify(r.url)},` +
    `"status":${r.status},"durationMs":${r.durationMs},"msg":"request"}\n`
  )
}

type MetadataStream = {
  write(line: string): void
  lastLevel?: number
  lastMsg?: string
  lastObj?: object
  lastTime?: string
  lastLogger?: Logger
}

/**
 * What pino's `write` does with a finished line: hand the stream the line's metadata when it asks for it
 * (`LineBuffer` writes a line at warn or above at once), then the line. The logger's bindings (`pid`,
 * `hostname`, a child's fields) are pino's own serialised string, so they stay exactly as its lines have them.
 */
function writeLine(logger: Logger, level: number, record: AccessRecord): void {
  const time = Date.now()
  const stream = (logger as unknown as Record<symbol, MetadataStream>)[pino.symbols.streamSym]!
  const bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym]!
  if ((stream as unknown as Record<symbol, unknown>)[pino.symbols.needsMetadataGsym] === true) {
    stream.lastLevel = level
    stream.lastObj = record
    stream.lastMsg = 'request'
    stream.lastTime = String(time)
    stream.lastLogger = logger
  }
  stream.write(accessLine(level, time, bindings, record))
}
