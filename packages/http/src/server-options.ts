import type { FastifyServerOptions } from 'fastify'
import { clientErrorHandler } from './client-error.ts'
import { type LogLevel, loggerOptions } from './logger.ts'

/**
 * The Fastify options both services share: pino with redaction, the client IP from TRUST_PROXY only when set,
 * a 16 KiB body limit, short URL params, unknown fields refused (400, never silently dropped), 503 while
 * closing, and parser-level errors (oversized headers) in the contract's error shape.
 */
export function serverOptions(opts: {
  logLevel: string
  logStream?: { write(line: string): void } | undefined
  trustProxy: boolean | string | number
  /** Coerce query-string numbers and booleans (the analytics API's filters); bodies are JSON and never coerced. */
  coerceTypes?: boolean
}): FastifyServerOptions {
  return {
    logger: loggerOptions(opts.logLevel as LogLevel, opts.logStream),
    // A hop count is valid at run time; Fastify's types only list the other forms.
    trustProxy: opts.trustProxy as boolean | string,
    bodyLimit: 16_384,
    routerOptions: { maxParamLength: 200 },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: opts.coerceTypes === true, allErrors: false },
    },
    return503OnClosing: true,
    clientErrorHandler,
  }
}
