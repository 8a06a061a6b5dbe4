import { ApiError, ERRORS } from '@africhain/http'
import { describe, expect, it } from 'vitest'
import { DomainError, DomainErrorCode } from '../src/domain/errors.ts'
import { DOMAIN_ERROR_REPLIES, domainToApiError, refusalMessage } from '../src/routes/domain-errors.ts'

describe('domain errors at the edge', () => {
  it.each(Object.values(DomainErrorCode))(
    '%s is answered with its documented API code and status',
    (code) => {
      const api = domainToApiError(new DomainError(code))
      const [apiCode, status] = DOMAIN_ERROR_REPLIES[code]
      expect(api).toBeInstanceOf(ApiError)
      expect((api as ApiError).code).toBe(apiCode)
      expect((api as ApiError).statusCode).toBe(status)
      expect(ERRORS[apiCode]).toBe(status)
    },
  )

  it('keeps the detail as the message and says when to retry', () => {
    const api = domainToApiError(new DomainError('LOGIN_LOCKED', { retryAfter: 42 })) as ApiError
    expect(api.headers).toEqual({ 'Retry-After': '42' })
    expect(api.message).toBe('too many failed logins; try again later')
    const detailed = domainToApiError(new DomainError('FORBIDDEN', { detail: 'this needs the admin role' }))
    expect((detailed as ApiError).message).toBe('this needs the admin role')
    expect((detailed as ApiError).headers).toEqual({})
  })

  it('leaves other errors alone; the CLI reads refusals only', () => {
    const outage = new Error('connect ECONNREFUSED')
    expect(domainToApiError(outage)).toBe(outage)
    expect(refusalMessage(outage)).toBeUndefined()
    expect(refusalMessage(new DomainError('USER_NOT_FOUND'))).toBe('no such user')
  })
})
