/**
 * The refusals of the token domain, codes first. The domain knows no HTTP: the routes' edge
 * (routes/domain-errors.ts) maps each code to its API error and status, in one table. (The password
 * hashing cap in password.ts is not a rule but the process's guard of its thread pool: it answers as an
 * unavailable dependency, 503 with Retry-After, like an outage.)
 */
export const DomainErrorCode = {
  /** Input the schema cannot judge (an identifier that is neither an email nor an E.164 number). */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  IDENTIFIER_TAKEN: 'IDENTIFIER_TAKEN',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  /** The account's login lock is set, or the window's attempts are used up (`retryAfter` seconds). */
  LOGIN_LOCKED: 'LOGIN_LOCKED',
  USER_DISABLED: 'USER_DISABLED',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  /** The actor lacks the role for an account action, or may not do it to themselves. */
  FORBIDDEN: 'FORBIDDEN',
  TOKEN_INVALID: 'TOKEN_INVALID',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  TOKEN_REVOKED: 'TOKEN_REVOKED',
  /** A rotated-out refresh token came back: the session was revoked (reason `reuse_detected`). */
  TOKEN_REUSED: 'TOKEN_REUSED',
  DEVICE_MISMATCH: 'DEVICE_MISMATCH',
} as const

export type DomainErrorCode = (typeof DomainErrorCode)[keyof typeof DomainErrorCode]

export class DomainError extends Error {
  readonly code: DomainErrorCode
  /** A message for the caller when the code's standard one says too little; never a secret. */
  readonly detail: string | undefined
  /** Seconds after which trying again can succeed (the login lock). */
  readonly retryAfter: number | undefined

  constructor(code: DomainErrorCode, options: { detail?: string; retryAfter?: number } = {}) {
    super(options.detail ?? code)
    this.name = 'DomainError'
    this.code = code
    this.detail = options.detail
    this.retryAfter = options.retryAfter
  }
}

/** The one refusal of an identifier that normalises to nothing (registration, the admin lookup). */
export const invalidIdentifier = () =>
  new DomainError('VALIDATION_FAILED', {
    detail: 'identifier must be an E.164 phone number or an email address',
  })
