import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ApiError, dependencyOf, ERRORS, type ErrorCode } from './errors.ts'
import { validationMessage as describeSchemaErrors, type SchemaError } from './validation-message.ts'

const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/**
 * A route path as find-my-way matches it: `:param` is one non-empty segment, `*` anything. A regexp
 * parameter (`:id(^\\d+)`) is taken as any segment (none is used): the check then errs towards 405.
 */
function pathPattern(url: string): RegExp {
  const source = url
    .split(/(:[A-Za-z0-9_]+(?:\([^)]*\))?|\*)/)
    .map((part, i) =>
      i % 2 === 1 ? (part === '*' ? '.*' : '[^/]+') : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('')
  return new RegExp(`^${source}$`)
}

/** Maps any thrown value to the API error it is answered with. Unknown errors become a generic 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err
  if (dependencyOf(err)) return new ApiError('DEPENDENCY_UNAVAILABLE')
  if (isClientAbort(err))
    return new ApiError('VALIDATION_FAILED', 'the request body was not received in full')
  const e = err as Partial<FastifyError> & { validation?: unknown }
  if (e.validation) return new ApiError('VALIDATION_FAILED', validationMessage(e))
  if (typeof e.code === 'string' && e.code in ERRORS) return new ApiError(e.code as ErrorCode, e.message)
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500
  if (status === 413) return new ApiError('PAYLOAD_TOO_LARGE', 'request body is too large')
  if (status === 415) return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'unsupported content type')
  if (status === 404) return new ApiError('NOT_FOUND', 'not found')
  if (status === 429) return new ApiError('RATE_LIMITED')
  if (status >= 400 && status < 500) return new ApiError('VALIDATION_FAILED', 'the request is malformed')
  return new ApiError('INTERNAL')
}

/** The client closed the connection before its body arrived (Node's request stream: `aborted`). */
function isClientAbort(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null
  return e?.code === 'ECONNRESET' && e.message === 'aborted'
}

function validationMessage(e: Partial<FastifyError> & { validation?: unknown }): string {
  // Built from ajv's error objects: each failing field by name and what it allows, never the value itself.
  if (Array.isArray(e.validation) && e.validation.length > 0)
    return describeSchemaErrors(e.validation as SchemaError[], e.validationContext ?? 'request')
  return 'the request does not match its schema'
}

export function sendApiError(reply: FastifyReply, error: ApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value)
  if (error.statusCode === 401 && !reply.hasHeader('www-authenticate') && error.code.startsWith('TOKEN_')) {
    reply.header('WWW-Authenticate', 'Bearer error="invalid_token"')
  }
  return reply.code(error.statusCode).send({
    statusCode: error.statusCode,
    code: error.code,
    error: STATUS_CODES[error.statusCode] ?? 'Error',
    message: error.message,
  })
}

export type ErrorHandlerOptions = {
  /** A service's own errors (its domain's refusals) as the API errors they are answered with. */
  translate?: (err: unknown) => unknown
}

/**
 * One error handler for the whole app: every error leaves as `{ statusCode, code, error, message }`,
 * 5xx with a generic message; the original error is logged (its message, never the request body).
 */
export const errorHandlerPlugin = fp(
  async (app: FastifyInstance, { translate }: ErrorHandlerOptions) => {
    app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
      const apiError = toApiError(translate ? translate(err) : err)
      if (apiError.statusCode >= 500) {
        const dependency = dependencyOf(err)
        request.log.error(
          {
            err: {
              type: (err as Error)?.name,
              message: (err as Error)?.message,
              code: (err as { code?: string })?.code,
            },
            dependency,
          },
          'request failed',
        )
      }
      return sendApiError(reply, apiError)
    })
    // Every route's path and methods, as registered: a URL that matches a path but not the method is a 405.
    const routes = new Map<string, { path: RegExp; methods: Set<string> }>()
    app.addHook('onRoute', (route) => {
      const path = pathPattern(route.url ?? route.path)
      const entry = routes.get(path.source) ?? { path, methods: new Set<string>() }
      routes.set(path.source, entry)
      for (const m of [route.method].flat()) entry.methods.add(m.toUpperCase())
      if (entry.methods.has('GET')) entry.methods.add('HEAD')
    })
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0]!
      const allowed = new Set(
        [...routes.values()].filter((r) => r.path.test(path)).flatMap((r) => [...r.methods]),
      )
      if (allowed.size === 0) return sendApiError(reply, new ApiError('NOT_FOUND', 'no such route'))
      const allow = METHOD_ORDER.filter((m) => allowed.has(m)).concat(
        [...allowed].filter((m) => !METHOD_ORDER.includes(m)),
      )
      return sendApiError(
        reply,
        new ApiError(
          'METHOD_NOT_ALLOWED',
          `${request.method} is not allowed here; use ${allow.join(' or ')}`,
          {
            Allow: allow.join(', '),
          },
        ),
      )
    })
  },
  { name: 'africhain-error-handler', fastify: '5.x' },
)
