import { STATUS_CODES } from 'node:http'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ERRORS, type ErrorCode } from './errors.ts'

/** When each error code is answered (docs/api.md's error table), for the descriptions of the error responses. */
const WHEN: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'the body, query or path fails its schema (the message names each field)',
  INVALID_CREDENTIALS: 'unknown identifier or wrong password',
  TOKEN_MISSING: 'no bearer token',
  TOKEN_INVALID: 'the token is malformed, badly signed, unknown or of the wrong kind',
  TOKEN_EXPIRED: 'the token or its session has expired',
  TOKEN_REVOKED: "the token's session was revoked",
  TOKEN_REUSED: 'a rotated-out refresh token was presented: the session is now revoked',
  DEVICE_MISMATCH: 'the session is bound to another device id',
  CLIENT_UNAUTHORIZED: 'missing or wrong client credentials (HTTP Basic)',
  FORBIDDEN: 'the caller lacks the role',
  USER_DISABLED: 'the account is disabled',
  NOT_FOUND: 'no such route',
  SESSION_NOT_FOUND: 'no such session (or not yours)',
  USER_NOT_FOUND: 'no such user',
  METHOD_NOT_ALLOWED: 'the path takes other methods (see Allow)',
  IDENTIFIER_TAKEN: 'the identifier is already registered',
  PAYLOAD_TOO_LARGE: 'the body is over 16 KiB',
  UNSUPPORTED_MEDIA_TYPE: 'the body is in a content type the route does not take',
  HEADERS_TOO_LARGE: 'the request headers are too large',
  RATE_LIMITED: 'too many requests from this client; see Retry-After',
  LOGIN_LOCKED: 'too many failed logins for this account; see Retry-After',
  INTERNAL: 'an unexpected error (generic message)',
  DEPENDENCY_UNAVAILABLE: 'Redis or the database is unreachable; the service fails closed',
}

/** Every error body of both services (docs/api.md, "Errors"), registered once by docsPlugin and referenced. */
export const ErrorResponse = {
  $id: 'ErrorResponse',
  type: 'object',
  description: 'An error. `code` is stable and machine-readable; `message` is for people.',
  required: ['statusCode', 'code', 'error', 'message'],
  properties: {
    statusCode: { type: 'integer', description: 'the HTTP status, repeated', examples: [401] },
    code: {
      type: 'string',
      enum: Object.keys(ERRORS),
      description: "the error's stable code; each response lists the codes it can carry",
      examples: ['TOKEN_EXPIRED'],
    },
    error: { type: 'string', description: 'the HTTP status text', examples: ['Unauthorized'] },
    message: {
      type: 'string',
      description: 'for people: never a token, a password or a stack trace; generic on 5xx',
      examples: ['the token has expired'],
    },
  },
} as const

/** The body type of an error response (the TypeBox provider cannot derive it from a plain JSON schema). */
export type ErrorBody<C extends ErrorCode = ErrorCode> = {
  statusCode: number
  code: C
  error: string
  message: string
}

type ErrorMap = { [status: number]: readonly ErrorCode[] }

/**
 * The error responses of a route, by status, each with the codes it can carry:
 * `errorResponses({ 401: ['TOKEN_MISSING', 'TOKEN_INVALID'], 503: ['DEPENDENCY_UNAVAILABLE'] })`. In OpenAPI each is
 * the shared `ErrorResponse` narrowed to those codes (an `enum`, so a generated client gets a union), with a
 * description saying when each code is answered. A code filed under the wrong status throws at start-up.
 */
export function errorResponses(map: ErrorMap): Record<number, object> {
  const out: Record<number, object> = {}
  for (const [key, codes] of Object.entries(map)) {
    const status = Number(key)
    for (const code of codes)
      if (ERRORS[code] !== status) throw new Error(`${code} is answered with ${ERRORS[code]}, not ${status}`)
    out[status] = {
      'x-response-description': `${STATUS_CODES[status] ?? 'Error'}. ${codes.map((c) => `\`${c}\`: ${WHEN[c]}`).join('; ')}.`,
      allOf: [
        { $ref: 'ErrorResponse#' },
        { type: 'object', properties: { code: { type: 'string', enum: [...codes] } } },
      ],
    }
  }
  return out
}

/** The 401s of a bearer-protected route (docs/api.md: malformed, expired, revoked, missing). */
export const BEARER_ERRORS = ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED'] as const

type Docs = { description?: string; examples?: unknown[]; fields?: Record<string, string> }

/**
 * A copy of an object schema with documentation added: its description and examples, and a description per
 * field (`fields`). Validation is unchanged, and so is the TypeScript type derived from it.
 */
export function annotate<T extends object>(schema: T, docs: Docs): T {
  const { fields, ...rest } = docs
  const properties = (schema as { properties?: Record<string, object> }).properties
  for (const name of Object.keys(fields ?? {}))
    if (!properties?.[name]) throw new Error(`annotate: the schema has no field "${name}"`)
  const withFields =
    fields && properties
      ? Object.fromEntries(
          Object.entries(properties).map(([k, v]) => [k, fields[k] ? { ...v, description: fields[k] } : v]),
        )
      : properties
  return { ...schema, ...rest, ...(withFields ? { properties: withFields } : {}) }
}

/** A success response's description (OpenAPI shows it per status; the schema's own stays on the schema). */
export function described<T extends object>(schema: T, description: string): T {
  // Beside a `$ref` the extension is lost when @fastify/swagger resolves the reference; `description` is not.
  if ('$ref' in schema) return { ...schema, description }
  return { ...schema, 'x-response-description': description }
}

/**
 * A schema registered once as an OpenAPI component (`components.schemas[id]`): `schema` carries the `$id`
 * (pass it to `app.addSchema` in the context whose routes use it), and `ref` is what those routes put in
 * their schemas. `ref` is typed as the schema, so a TypeBox type provider still derives the reply type.
 */
export function component<T extends object>(id: string, schema: T): { schema: T & { $id: string }; ref: T } {
  return { schema: { ...schema, $id: id }, ref: { $ref: `${id}#` } as unknown as T }
}

function withResponseDescriptions<T>(schema: T): T {
  const response = (schema as { response?: Record<string, Record<string, unknown>> } | undefined)?.response
  if (!response) return schema
  const filled = Object.fromEntries(
    Object.entries(response).map(([status, r]) =>
      r.description || r['x-response-description']
        ? [status, r]
        : [status, { ...r, 'x-response-description': STATUS_CODES[Number(status)] ?? `HTTP ${status}` }],
    ),
  )
  return { ...schema, response: filled }
}

/** OpenAPI generated from the route schemas, served at /docs (JSON at /docs/json). Register before the routes. */
export const docsPlugin = fp(
  async (app: FastifyInstance, opts: { title: string; version: string; description: string }) => {
    app.addSchema(ErrorResponse)
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
      // A response documented without a description (a route not using `described`/`errorResponses`)
      // gets its status text rather than @fastify/swagger's "Default Response".
      transform: ({ schema, url }) => ({ schema: withResponseDescriptions(schema), url }),
      // Components by their `$id` (`#/components/schemas/TokenPair`), not `def-0`, `def-1`…
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) =>
          typeof json.$id === 'string' ? json.$id : `def-${i}`,
      },
    })
    await app.register(swaggerUi, { routePrefix: '/docs' })
  },
  { name: 'africhain-docs', fastify: '5.x' },
)
