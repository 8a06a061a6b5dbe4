import { beforeAll, describe, expect, it } from 'vitest'
import { useTestApp } from './helpers/app.ts'

// docs/api.md: a 400 names each failing field and what it allows; a path that exists with other methods is
// a 405 METHOD_NOT_ALLOWED with `Allow`, on the analytics API as on the token service.
const { app, issuer } = useTestApp('actionable')
let token: string

beforeAll(async () => {
  token = await issuer.mint('sec-1', ['user', 'security'])
})

const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })

describe('400 VALIDATION_FAILED names every failing query field and what it allows', () => {
  it('an event type lists the types; a limit says its range; an unknown field is named', async () => {
    const res = await get('/analytics/events?type=session.exploded&limit=501&colour=red')
    expect(res.statusCode).toBe(400)
    expect(res.json().code).toBe('VALIDATION_FAILED')
    const message: string = res.json().message
    expect(message).toContain('querystring.type must be one of user.registered, session.created,')
    expect(message).toContain('querystring.limit must be at most 500')
    expect(message).toContain('querystring has an unknown field "colour"')
    expect(message).not.toContain('exploded')
    expect(message).not.toContain('501')
  })
})

describe('a known path with another method', () => {
  it.each(['/analytics', '/analytics/events', '/analytics/security/flagged'])(
    'POST %s: 405 with Allow: GET, HEAD',
    async (url) => {
      const res = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` } })
      expect(res.statusCode).toBe(405)
      expect(res.headers.allow).toBe('GET, HEAD')
      expect(res.json()).toMatchObject({
        statusCode: 405,
        code: 'METHOD_NOT_ALLOWED',
        error: 'Method Not Allowed',
      })
    },
  )

  it('an unknown path is 404 NOT_FOUND without Allow', async () => {
    const res = await app.inject({ method: 'POST', url: '/analytics/nope' })
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('NOT_FOUND')
    expect(res.headers.allow).toBeUndefined()
  })
})
