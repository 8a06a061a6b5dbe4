/**
 * The error codes of the error table (docs/api.md, "Errors"), with their status. Every error a route answers with is an
 * ApiError built here, so `code` stays stable and `message` never carries a token or a stack.
 */
export const ERRORS = {
  VALIDATION_FAILED: 400,
  INVALID_CREDENTIALS: 401,
  TOKEN_MISSING: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_REVOKED: 401,
  TOKEN_REUSED: 401,
  DEVICE_MISMATCH: 401,
  CLIENT_UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  USER_DISABLED: 403,
  NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  IDENTIFIER_TAKEN: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  RATE_LIMITED: 429,
  LOGIN_LOCKED: 429,
  INTERNAL: 500,
  DEPENDENCY_UNAVAILABLE: 503,
} as const

export type ErrorCode = keyof typeof ERRORS

const DEFAULT_MESSAGES: Partial<Record<ErrorCode, string>> = {
  INVALID_CREDENTIALS: 'identifier or password is wrong',
  TOKEN_MISSING: 'a bearer token is required',
  TOKEN_INVALID: 'the token is not valid',
  TOKEN_EXPIRED: 'the token has expired',
  TOKEN_REVOKED: 'the session was revoked',
  TOKEN_REUSED: 'a rotated-out refresh token was presented; the session is revoked',
  DEVICE_MISMATCH: 'this session is bound to another device',
  FORBIDDEN: 'you lack the role for this',
  SESSION_NOT_FOUND: 'no such session',
  USER_DISABLED: 'this account is disabled',
  USER_NOT_FOUND: 'no such user',
  METHOD_NOT_ALLOWED: 'this route does not take that method',
  HEADERS_TOO_LARGE: 'request headers are too large',
  RATE_LIMITED: 'too many requests',
  LOGIN_LOCKED: 'too many failed logins; try again later',
  INTERNAL: 'internal error',
  DEPENDENCY_UNAVAILABLE: 'a dependency is unavailable; try again shortly',
}

export class ApiError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly headers: Record<string, string>

  constructor(code: ErrorCode, message?: string, headers: Record<string, string> = {}) {
    super(message ?? DEFAULT_MESSAGES[code] ?? code)
    this.name = 'ApiError'
    this.code = code
    this.statusCode = ERRORS[code]
    this.headers = headers
  }
}

/** Thrown by storage adapters when Redis or the database cannot answer: the request fails closed with 503. */
export class DependencyError extends Error {
  readonly dependency: 'redis' | 'database'
  constructor(dependency: 'redis' | 'database', cause?: unknown) {
    super(`${dependency} unavailable`, { cause })
    this.name = 'DependencyError'
    this.dependency = dependency
  }
}

const MYSQL_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_TIMEOUT',
])

/** Recognises driver errors that mean "the dependency is not there" rather than "this request is wrong". */
const REDIS_UNAVAILABLE_REPLIES =
  /^(READONLY|OOM|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF|BUSY)\b/

export function dependencyOf(err: unknown): 'redis' | 'database' | undefined {
  if (err instanceof DependencyError) return err.dependency
  if (!(err instanceof Error)) return undefined
  const e = err as Error & { code?: string; fatal?: boolean; errno?: number }
  if (
    e.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|Command timed out/.test(e.message)
  )
    return 'redis'
  if (e.name === 'ClusterAllFailedError') return 'redis'
  // A Redis that answers but refuses the command: a read-only replica after a failover, out of memory,
  // loading a snapshot, a cluster without a quorum. The service cannot do its work there: 503, not 500.
  if (e.name === 'ReplyError' && REDIS_UNAVAILABLE_REPLIES.test(e.message)) return 'redis'
  // A network code counts only on a socket error (`syscall`) or the driver's fatal flag: the request's own
  // stream raises ECONNRESET too when a client hangs up mid-body, and that is no database outage.
  const onSocket = (e as { syscall?: unknown }).syscall !== undefined
  if (e.fatal === true || (e.code !== undefined && MYSQL_CONNECTION_CODES.has(e.code) && onSocket))
    return 'database'
  if (/Pool is closed|Can't add new command when connection is in closed state|pool timeout/i.test(e.message))
    return 'database'
  return undefined
}
