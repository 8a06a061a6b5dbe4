import { ApiError, type ERRORS, type ErrorCode } from '@africhain/http'
import { DomainError, type DomainErrorCode } from '../domain/errors.ts'

/** An API error code with the status the error table (docs/api.md, "Errors") gives it. */
type WithStatus = { [C in ErrorCode]: readonly [C, (typeof ERRORS)[C]] }[ErrorCode]

/**
 * The one place a domain refusal becomes HTTP: its API code and status. The type checks each pair against
 * the shared error table, so a status here can never drift from the one the API documents.
 */
export const DOMAIN_ERROR_REPLIES = {
  VALIDATION_FAILED: ['VALIDATION_FAILED', 400],
  INVALID_CREDENTIALS: ['INVALID_CREDENTIALS', 401],
  TOKEN_INVALID: ['TOKEN_INVALID', 401],
  TOKEN_EXPIRED: ['TOKEN_EXPIRED', 401],
  TOKEN_REVOKED: ['TOKEN_REVOKED', 401],
  TOKEN_REUSED: ['TOKEN_REUSED', 401],
  DEVICE_MISMATCH: ['DEVICE_MISMATCH', 401],
  FORBIDDEN: ['FORBIDDEN', 403],
  USER_DISABLED: ['USER_DISABLED', 403],
  SESSION_NOT_FOUND: ['SESSION_NOT_FOUND', 404],
  USER_NOT_FOUND: ['USER_NOT_FOUND', 404],
  IDENTIFIER_TAKEN: ['IDENTIFIER_TAKEN', 409],
  LOGIN_LOCKED: ['LOGIN_LOCKED', 429],
} as const satisfies Record<DomainErrorCode, WithStatus>

/** The API error a domain error is answered with (`Retry-After` when it says when); anything else as is. */
export function domainToApiError(err: unknown): unknown {
  if (!(err instanceof DomainError)) return err
  const [code] = DOMAIN_ERROR_REPLIES[err.code]
  const headers = err.retryAfter === undefined ? undefined : { 'Retry-After': String(err.retryAfter) }
  return new ApiError(code, err.detail, headers)
}

/** The message a refusal (not an outage) is answered with, for the CLI's one-line reasons; else undefined. */
export function refusalMessage(err: unknown): string | undefined {
  const api = domainToApiError(err)
  return api instanceof ApiError && api.statusCode < 500 ? api.message : undefined
}
