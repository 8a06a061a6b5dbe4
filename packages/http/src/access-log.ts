import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { HEALTH_PATHS } from './health.ts'
import { loggableUrl } from './logger.ts'

/** Probes and scrapes arrive every few seconds and say nothing about users: their lines are at debug. */
const QUIET_ROUTES = new Set([HEALTH_PATHS.live, HEALTH_PATHS.ready, '/metrics'])

/**
 * One access line per request, at `info`, when the response has gone out: method, route (the pattern, so
 * ids do not make every line unique), the path as it may be logged (`loggableUrl`), status, duration in ms,
 * and the request id from the request logger's bindings. With `disableRequestLogging` (serverOptions) it
 * replaces Fastify's two lines per request. At `debug` a `request received` line also marks the start, so
 * a request still in flight can be seen (the graceful-shutdown test latches on it).
 */
export const accessLogPlugin = fp(
  async (app: FastifyInstance) => {
    app.addHook('onRequest', async (request) => {
      if (request.log.level === 'debug' || request.log.level === 'trace')
        request.log.debug({ method: request.method, url: loggableUrl(request.url) }, 'request received')
    })
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url
      const line = {
        method: request.method,
        route,
        url: loggableUrl(request.url),
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      }
      if (route !== undefined && QUIET_ROUTES.has(route)) request.log.debug(line, 'request')
      else request.log.info(line, 'request')
    })
  },
  { name: 'access-log', fastify: '5.x' },
)
