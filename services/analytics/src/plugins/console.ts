import { readdir, readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'
import fp from 'fastify-plugin'

export type ConsoleOptions = {
  /** The console's build output (index.html and assets/). */
  dir: string
  /** The token service's URL as browsers reach it: the console signs in there. */
  tokenUrl: string
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
}
/** Vite names every asset after its content hash: a name is a name forever. */
const IMMUTABLE = 'public, max-age=31536000, immutable'
const ASSET_NAME = /^[A-Za-z0-9_.-]+$/

/**
 * The token service's URL as the console may publish it (config.json is public): without the user, password,
 * query and fragment a server-side URL can carry to get past a gateway.
 */
function publicTokenUrl(tokenUrl: string): string {
  const u = new URL(tokenUrl)
  u.username = ''
  u.password = ''
  u.search = ''
  u.hash = ''
  return u.href
}

/** What every console response carries: a strict CSP (scripts and styles from this origin only) and the usual headers. */
export function consoleHeaders(tokenUrl: string): Record<string, string> {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${new URL(tokenUrl).origin}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
  return {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  }
}

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path)
  } catch {
    return null
  }
}

/**
 * `/console`: the security console's static build (packages/console, built by `pnpm build`). index.html is
 * never cached (it names the current hashed assets), the assets are immutable; `/console/config.json` tells the
 * app where the token service is. A missing build answers 503 CONSOLE_NOT_BUILT saying how to build it.
 */
export const consolePlugin = fp(
  async (app: FastifyInstance, opts: ConsoleOptions) => {
    const tokenUrl = publicTokenUrl(opts.tokenUrl)
    const headers = consoleHeaders(tokenUrl)
    const notBuilt = (reply: FastifyReply) =>
      reply.code(503).headers(headers).send({
        statusCode: 503,
        code: 'CONSOLE_NOT_BUILT',
        error: 'Service Unavailable',
        message: 'the console is not built: run `pnpm build` at the repository root, then reload',
      })
    const hide = { schema: { hide: true } }

    app.get('/console', hide, (_request, reply) => reply.redirect('/console/', 302))
    app.get('/console/', hide, async (_request, reply) => {
      const html = await readOrNull(join(opts.dir, 'index.html'))
      if (!html) return notBuilt(reply)
      return reply
        .headers({ ...headers, 'cache-control': 'no-cache', 'content-type': 'text/html; charset=utf-8' })
        .send(html)
    })
    app.get('/console/config.json', hide, async (_request, reply) =>
      reply.headers({ ...headers, 'cache-control': 'no-cache' }).send({ tokenServiceUrl: tokenUrl }),
    )
    app.get<{ Params: { file: string } }>('/console/assets/:file', hide, async (request, reply) => {
      const { file } = request.params
      const type = TYPES[extname(file)]
      // Only names the build wrote: no path separators, no dot-dot, a known type, present in assets/.
      const known = ASSET_NAME.test(file) && !file.startsWith('.') && type !== undefined
      const body = known ? await readOrNull(join(opts.dir, 'assets', file)) : null
      if (!body) {
        const built = await readdir(opts.dir).then(
          () => true,
          () => false,
        )
        if (!built) return notBuilt(reply)
        return reply
          .code(404)
          .headers(headers)
          .send({
            statusCode: 404,
            code: 'NOT_FOUND',
            error: 'Not Found',
            message: `no console asset named ${JSON.stringify(file.slice(0, 80))}`,
          })
      }
      return reply.headers({ ...headers, 'cache-control': IMMUTABLE, 'content-type': type }).send(body)
    })
  },
  { name: 'analytics-console', fastify: '5.x' },
)
