import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry
  }
}

/**
 * A Prometheus registry per app (tests build many apps in one process), request counters and latency by
 * route, and `GET /metrics`. Services add their own counters to `app.metrics`.
 */
export const metricsPlugin = fp(
  async (app: FastifyInstance, opts: { prefix: string; defaultMetrics?: boolean }) => {
    const registry = new Registry()
    if (opts.defaultMetrics !== false)
      collectDefaultMetrics({ register: registry, prefix: `${opts.prefix}_` })
    const requests = new Counter({
      name: `${opts.prefix}_http_requests_total`,
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    })
    const latency = new Histogram({
      name: `${opts.prefix}_http_request_duration_seconds`,
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    })
    app.decorate('metrics', registry)
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unknown'
      requests.inc({ method: request.method, route, status: String(reply.statusCode) })
      latency.observe({ method: request.method, route }, reply.elapsedTime / 1000)
      done()
    })
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      reply.header('content-type', registry.contentType)
      return registry.metrics()
    })
  },
  { name: 'africhain-metrics', fastify: '5.x' },
)
