import { type FastifyServerOptions, LogController } from 'fastify'
import { clientErrorHandler } from './client-error.ts'
import { sendApiError } from './error-handler.ts'
import { ApiError } from './errors.ts'
import { type LogLevel, loggerOptions } from './logger.ts'
import { RequestLogger } from './request-logger.ts'

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
    // One access line per request instead of two (accessLogPlugin, registered by each app).
    logController: new LogController({ disableRequestLogging: true }),
    // request.log is made on first use (request-logger.ts): most requests never log through it.
    childLoggerFactory: (logger, bindings, options) => new RequestLogger(logger, bindings, options),
    // A hop count is valid at run time; Fastify's types only list the other forms.
    trustProxy: opts.trustProxy as boolean | string,
    bodyLimit: 16_384,
    routerOptions: { maxParamLength: 200 },
    ajv: {
      // strictNumbers off, measured on ajv 8.20: with it on (its default), a query value coerced to
      // `Infinity` (`limit=Infinity`, `1e309`) skips `minimum`/`maximum` and reached the SQL as a 500; with it
      // off the coerced value is range-checked and refused (400). `NaN` is never coerced either way.
      //
      // allErrors on, so a 400 names every failing field, not only the first (validation-message.ts). ajv's
      // security notes advise against it because validation then goes on past a failed `maxLength` into
      // `pattern`/`format` of an oversized string, and past a failed `maxItems` into `uniqueItems`. Here the
      // input is bounded before ajv sees it (16 KiB bodies, Node's 16 KiB header limit for query strings),
      // request schemas use no `uniqueItems` or `patternProperties`, and their patterns and formats are
      // linear. Measured: a 16 KiB login body of 1,700 unknown fields takes 0.33 ms to validate and describe
      // (0.04 ms with allErrors off), and the message names five of them and counts the rest.
      customOptions: {
        removeAdditional: false,
        coerceTypes: opts.coerceTypes === true,
        allErrors: true,
        strictNumbers: false,
      },
    },
    return503OnClosing: true,
    // A malformed percent-escape in the path: the contract's 400, never Fastify's body echoing the URL.
    frameworkErrors: (error, _request, reply) =>
      sendApiError(
        reply,
        error.code === 'FST_ERR_BAD_URL'
          ? new ApiError('VALIDATION_FAILED', 'the URL path is not valid percent-encoded UTF-8')
          : new ApiError('VALIDATION_FAILED', 'the request is malformed'),
      ),
    clientErrorHandler,
  }
}
