import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/** OpenAPI generated from the route schemas, served at /docs. Register before the routes. */
export const docsPlugin = fp(
  async (app: FastifyInstance, opts: { title: string; version: string; description: string }) => {
    await app.register(swagger, {
      openapi: {
        info: { title: opts.title, version: opts.version, description: opts.description },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
            clientBasic: { type: 'http', scheme: 'basic' },
          },
        },
      },
    })
    await app.register(swaggerUi, { routePrefix: '/docs' })
  },
  { name: 'africhain-docs', fastify: '5.x' },
)
