import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ApiError } from './errors.ts'

// With the `u` flag a paired surrogate is one code point; only a lone one is in category Cs.
const LONE_SURROGATE = /\p{Cs}/u

/** Whether any string in a parsed JSON value (keys included) holds a lone UTF-16 surrogate. */
function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value)
  if (Array.isArray(value)) return value.some(hasLoneSurrogate)
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (LONE_SURROGATE.test(key) || hasLoneSurrogate(item)) return true
    }
  }
  return false
}

/**
 * JSON bodies, parsed by Fastify's own parser (prototype-poisoning protection kept), with two rules on top:
 * - an empty body is no body, whatever its Content-Type: many HTTP clients send `Content-Type:
 *   application/json` on a body-less POST, and a logout must not fail (and leave the session alive) for it;
 *   a route that needs a body still answers 400 from its schema;
 * - text with a lone surrogate (`"\ud800"`) is refused: the database would store it as U+FFFD, so two
 *   different requests would become one stored value (two spellings of one identifier, one account).
 */
export const jsonBodyPlugin = fp(
  async (app: FastifyInstance) => {
    const parse = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string' },
      (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
        const text = typeof body === 'string' ? body : body.toString('utf8')
        if (text.trim() === '') return done(null, undefined)
        parse(request, text, (err: Error | null, value?: unknown) => {
          if (err) return done(new ApiError('VALIDATION_FAILED', 'the body is not valid JSON'))
          if (hasLoneSurrogate(value))
            return done(
              new ApiError(
                'VALIDATION_FAILED',
                'the body holds text that is not valid Unicode (a lone surrogate)',
              ),
            )
          done(null, value)
        })
      },
    )
  },
  { name: 'africhain-json-body', fastify: '5.x' },
)
