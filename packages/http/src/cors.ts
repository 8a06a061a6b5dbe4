import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ApiError } from './errors.ts'

export type CorsOptions = {
  /** Exact origins (`https://console.example.com`) whose pages may call this service; empty: none. */
  origins: readonly string[]
  /** The variable the origins come from, named in the refusal's message. */
  setting: string
}

const ALLOW_METHODS = 'GET, POST'
const ALLOW_HEADERS = 'authorization, content-type'
const EXPOSE_HEADERS = 'Retry-After, WWW-Authenticate'

/**
 * Cross-origin calls from an allowlist of exact origins, nothing else. An allowed origin is echoed in
 * `Access-Control-Allow-Origin` (never `*`), with `Vary: Origin` on every response so no cache serves one
 * origin's answer to another. Credentials are never allowed (`Access-Control-Allow-Credentials` is not
 * sent): the services take bearer tokens in the Authorization header, never cookies, so a page gets nothing
 * from the browser's ambient credentials. A preflight from an allowed origin answers 204 before routing; one
 * from any other origin answers 403 FORBIDDEN. A plain request from another origin is served as usual, but
 * without the header the browser does not let that page read it.
 */
export const corsPlugin = fp(
  async (app: FastifyInstance, opts: CorsOptions) => {
    const allowed = new Set(opts.origins)
    // A callback hook (no promise per request); a preflight is answered without calling `done`.
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('vary', 'Origin')
      const origin = request.headers.origin
      if (origin === undefined) return done()
      const preflight =
        request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined
      if (!allowed.has(origin)) {
        if (preflight) return done(new ApiError('FORBIDDEN', `this origin is not in ${opts.setting}`))
        return done()
      }
      reply.header('access-control-allow-origin', origin)
      reply.header('access-control-expose-headers', EXPOSE_HEADERS)
      if (!preflight) return done()
      reply
        .code(204)
        .header('access-control-allow-methods', ALLOW_METHODS)
        .header('access-control-allow-headers', ALLOW_HEADERS)
        .header('access-control-max-age', '600')
        .send()
    })
  },
  { name: 'africhain-cors', fastify: '5.x' },
)
