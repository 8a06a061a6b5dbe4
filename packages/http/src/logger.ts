import type { FastifyServerOptions } from 'fastify'

/** Paths pino must never print: credentials and tokens wherever they appear in a logged object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'password',
  'refreshToken',
  'accessToken',
  'token',
  '*.password',
  '*.refreshToken',
  '*.accessToken',
  '*.token',
  '*.authorization',
]

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/** pino options shared by every process; `stream` lets tests capture the output to grep it for tokens. */
export function loggerOptions(
  level: LogLevel,
  stream?: { write(line: string): void },
): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // URLs are logged without their query string: a token must never travel there, but if one does it stays out of the logs.
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({
        method: req.method,
        url: req.url.split('?')[0],
        ip: req.ip,
      }),
    },
    ...(stream ? { stream } : {}),
  } as NonNullable<FastifyServerOptions['logger']>
}
