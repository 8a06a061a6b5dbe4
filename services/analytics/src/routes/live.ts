import type { PassThrough } from 'node:stream'
import { ApiError, BEARER_ERRORS, errorResponses } from '@africhain/http'
import type { AuthContext } from '@africhain/verifier'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Redis } from 'ioredis'
import { Counter, Gauge } from 'prom-client'
import { Type } from 'typebox'
import type { AnalyticsConfig } from '../config.ts'
import { type LiveEntry, LiveFeed } from '../live/feed.ts'
import { EventStream } from '../live/sse.ts'
import { PRIVILEGED_ROLES } from './access.ts'
import { bearer } from './schemas.ts'

/** What the live feed carries: what an analyst on call acts on. */
export const LIVE_TYPES = [
  'token.reuse_detected',
  'session.device_mismatch',
  'user.locked',
  'abuse.rate_limited',
  'risk.alert',
  'login.failed',
] as const

const LiveQuery = Type.Object(
  {
    type: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: `comma-separated, any of ${LIVE_TYPES.join(', ')} (default all)`,
      }),
    ),
  },
  { additionalProperties: false },
)

function typesOf(raw: string | undefined): Set<string> {
  if (raw === undefined) return new Set(LIVE_TYPES)
  const types = raw.split(',')
  const unknown = types.filter((t) => !(LIVE_TYPES as readonly string[]).includes(t))
  if (unknown.length > 0)
    throw new ApiError(
      'VALIDATION_FAILED',
      `querystring/type must be a comma-separated list of ${LIVE_TYPES.join(', ')}`,
    )
  return new Set(types)
}

type Watcher = {
  auth: AuthContext
  token: string
  types: Set<string>
  stream: EventStream
  response: { writableFinished: boolean; destroy(): void }
}

/** Whether an entry can end a watcher's right to the stream: its session revoked, its user disabled. */
const endsRight = (w: Watcher, e: LiveEntry) =>
  (e.type === 'session.revoked' && e.sessionId === w.auth.sessionId) ||
  (e.type === 'user.disabled' && e.userId === w.auth.userId)

/**
 * `GET /analytics/live`: security events as they reach the bus, as server-sent events. One shared feed per
 * process (live/feed.ts); the token is verified at connect and again whenever the bus says the caller's
 * session was revoked or user disabled, and every LIVE_RECHECK in any case (expiry, a revocation whose
 * event is late): a stream whose token no longer verifies ends with an `end` event naming the code.
 */
export const liveRoutes: FastifyPluginAsyncTypebox<{ config: AnalyticsConfig; redis: Redis }> = async (
  app,
  { config, redis },
) => {
  const watchers = new Set<Watcher>()
  const streamsOf = (userId: string) => {
    let n = 0
    for (const w of watchers) if (w.auth.userId === userId) n++
    return n
  }
  const feed = new LiveFeed({
    redis,
    eventsStream: config.EVENTS_STREAM,
    alertsStream: config.ALERTS_STREAM,
    onError: (err) => app.log.warn({ err: { message: (err as Error).message } }, 'live feed read failed'),
  })
  const registers = [app.metrics]
  new Gauge({
    name: 'analytics_live_streams',
    help: 'Open GET /analytics/live streams in this process',
    registers,
    collect() {
      this.set(watchers.size)
    },
  })
  const delivered = new Counter({
    name: 'analytics_live_events_total',
    help: 'Live events per outcome: sent to a stream, or dropped because its client was behind',
    labelNames: ['outcome'],
    registers,
  })

  async function recheck(w: Watcher): Promise<void> {
    try {
      await app.verifyAccessToken(w.token)
    } catch (err) {
      w.stream.end(err instanceof ApiError ? err.code : 'DEPENDENCY_UNAVAILABLE')
    }
  }
  const heartbeat = setInterval(() => {
    for (const w of watchers) w.stream.heartbeat()
  }, config.LIVE_HEARTBEAT * 1000)
  const rechecks = setInterval(() => {
    for (const w of watchers) void recheck(w)
  }, config.LIVE_RECHECK * 1000)
  // Neither keeps a process alive on its own: an open stream's socket does.
  heartbeat.unref()
  rechecks.unref()
  app.addHook('preClose', async () => {
    clearInterval(heartbeat)
    clearInterval(rechecks)
    const closing = [...watchers]
    for (const w of closing) w.stream.end('SERVER_CLOSING')
    // A client that stopped reading would hold the close until its queue drains: cut it after a second.
    const stuck = () => closing.filter((w) => !w.response.writableFinished)
    if (stuck().length > 0) await new Promise((r) => setTimeout(r, 1000))
    for (const w of stuck()) w.response.destroy()
  })
  app.addHook('onClose', async () => feed.stop())

  app.get(
    '/analytics/live',
    {
      onRequest: [app.authenticate, app.requireRole(...PRIVILEGED_ROLES)],
      schema: {
        summary: 'Security events as they happen, as server-sent events (role security or admin)',
        description: `A \`text/event-stream\`: one event per security event published from now on (${LIVE_TYPES.join(', ')}; \`type=\` narrows it), \`event:\` its type, \`id:\` its stream entry id, \`data:\` the envelope as JSON. A comment line every LIVE_HEARTBEAT. A client too slow to read gets a \`dropped\` event with the count it missed. The stream ends with an \`end\` event whose \`reason\` is the error code when the caller's token stops verifying (TOKEN_REVOKED, TOKEN_EXPIRED: reconnect with a fresh token) or SERVER_CLOSING. At most LIVE_MAX_STREAMS per process, and LIVE_MAX_STREAMS_PER_USER of them for one user: 429 beyond.`,
        operationId: 'liveEvents',
        tags: ['security'],
        security: bearer,
        querystring: LiveQuery,
        response: {
          200: {
            description: 'The event stream',
            content: { 'text/event-stream': { schema: Type.Unsafe<PassThrough>({ type: 'string' }) } },
          },
          ...errorResponses({
            400: ['VALIDATION_FAILED'],
            401: BEARER_ERRORS,
            403: ['FORBIDDEN'],
            429: ['RATE_LIMITED'],
            503: ['DEPENDENCY_UNAVAILABLE'],
          }),
        },
      },
    },
    async (request, reply) => {
      const types = typesOf(request.query.type)
      const retry = { 'retry-after': '5' }
      if (watchers.size >= config.LIVE_MAX_STREAMS)
        throw new ApiError(
          'RATE_LIMITED',
          'this instance has LIVE_MAX_STREAMS live streams open; retry shortly',
          retry,
        )
      const userId = request.auth!.userId
      if (streamsOf(userId) >= config.LIVE_MAX_STREAMS_PER_USER)
        throw new ApiError(
          'RATE_LIMITED',
          'you have LIVE_MAX_STREAMS_PER_USER live streams open on this instance: close one (another tab) or retry shortly',
          retry,
        )
      let unsubscribe = () => {}
      const stream = new EventStream(() => {
        watchers.delete(watcher)
        unsubscribe()
      }, 3000)
      const watcher: Watcher = {
        auth: request.auth!,
        // `authenticate` accepted the header as `Bearer <token>` (the scheme in any case).
        token: request.headers.authorization!.slice('Bearer '.length),
        types,
        stream,
        response: reply.raw,
      }
      watchers.add(watcher)
      reply.raw.on('close', () => stream.end('CLIENT_CLOSED'))
      unsubscribe = await feed.subscribe((entry) => {
        if (endsRight(watcher, entry)) void recheck(watcher)
        if (types.has(entry.type)) delivered.inc({ outcome: stream.send(entry) ? 'sent' : 'dropped' })
      })
      if (stream.ended) unsubscribe()
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-store, no-transform')
        .header('x-accel-buffering', 'no')
        .send(stream.body)
    },
  )
}
