/**
 * Error codes the SDK can reject with. The token service's codes (docs/api.md, "Errors") pass through
 * unchanged; the last four are the SDK's own, for failures that never reached a service answer.
 */
export const AuthErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  TOKEN_MISSING: 'TOKEN_MISSING',
  TOKEN_INVALID: 'TOKEN_INVALID',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  TOKEN_REVOKED: 'TOKEN_REVOKED',
  TOKEN_REUSED: 'TOKEN_REUSED',
  DEVICE_MISMATCH: 'DEVICE_MISMATCH',
  FORBIDDEN: 'FORBIDDEN',
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  RATE_LIMITED: 'RATE_LIMITED',
  LOGIN_LOCKED: 'LOGIN_LOCKED',
  DEPENDENCY_UNAVAILABLE: 'DEPENDENCY_UNAVAILABLE',
  /** No session is stored: never logged in, logged out, or ended earlier. */
  NOT_AUTHENTICATED: 'NOT_AUTHENTICATED',
  /** The session was ended by `logout()` / `logoutAll()` in another client sharing the storage. */
  LOGGED_OUT: 'LOGGED_OUT',
  /** `fetch` itself failed (offline, DNS, timeout); `cause` holds the original error. */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** The service answered something that is not the documented shape. */
  UNEXPECTED_RESPONSE: 'UNEXPECTED_RESPONSE',
} as const

/** Any code above, or another code a newer service version may send. */
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode] | (string & {})

/**
 * A refresh answering one of these means the session can never be used again: the SDK clears the
 * stored tokens and emits `sessionEnded`. TOKEN_INVALID is here because a refresh token the service
 * does not know is as dead as a revoked one.
 */
export const SESSION_ENDING_CODES: ReadonlySet<string> = new Set([
  AuthErrorCode.TOKEN_REUSED,
  AuthErrorCode.TOKEN_REVOKED,
  AuthErrorCode.TOKEN_EXPIRED,
  AuthErrorCode.DEVICE_MISMATCH,
  AuthErrorCode.TOKEN_INVALID,
])

export type AuthErrorOptions = { status?: number; retryAfter?: number; cause?: unknown }

/**
 * The only error type the SDK rejects with. `message` never contains a token: it is built from the
 * code and the service's human message, which the contract keeps free of secrets and which is
 * scrubbed again here (see `scrub`).
 */
export class AuthError extends Error {
  override readonly name = 'AuthError'
  readonly code: AuthErrorCode
  /** HTTP status of the service's answer; 0 when there was none (network error, no session). */
  readonly status: number
  /** Seconds, from `Retry-After` on 429 answers. */
  readonly retryAfter: number | undefined

  constructor(code: AuthErrorCode, message: string, options: AuthErrorOptions = {}) {
    super(`${code}: ${scrub(message)}`, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options.status ?? 0
    this.retryAfter = options.retryAfter
  }
}

export function isAuthError(value: unknown): value is AuthError {
  return value instanceof AuthError
}

/**
 * Defence in depth: replaces anything shaped like a token (a JWT, or a long base64url run as
 * opaque refresh tokens are) so that no code path can leak one through an error message.
 */
export function scrub(message: string): string {
  return message.replace(/[\w-]{8,}\.[\w-]{8,}\.[\w-]*|[\w-]{24,}/g, '[redacted]')
}
