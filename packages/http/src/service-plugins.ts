import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { accessLogPlugin } from './access-log.ts'
import { docsPlugin } from './docs.ts'
import { drainPlugin } from './drain.ts'
import { jsonBodyPlugin } from './json-body.ts'
import { metricsPlugin } from './metrics.ts'

export type ServicePluginsOptions = {
  /** Prefix of the service's metric names (`token`, `analytics`). */
  metricsPrefix: string
  /** The OpenAPI document's title, version and description. */
  docs: { title: string; version: string; description: string }
}

/**
 * What every service registers after its error handler (and CORS) and before its own plugins, in this
 * order: the access log, JSON bodies, the graceful drain, metrics and the OpenAPI docs.
 */
export const servicePlugins = fp(
  async (app: FastifyInstance, opts: ServicePluginsOptions) => {
    await app.register(accessLogPlugin)
    await app.register(jsonBodyPlugin)
    await app.register(drainPlugin)
    await app.register(metricsPlugin, { prefix: opts.metricsPrefix })
    await app.register(docsPlugin, opts.docs)
  },
  { name: 'africhain-service-plugins', fastify: '5.x' },
)
