import { describe, expect, it } from 'vitest'
import { authed, PASSWORD, signIn, uniqueEmail, useTestApp } from './helpers/app.ts'

// docs/api.md: "A 400 VALIDATION_FAILED message names each failing field and what it allows (for an enum, its
// values)", and a route that exists with other methods answers 405 METHOD_NOT_ALLOWED with `Allow`.
const { app } = useTestApp('actionable')

const login = (body: unknown) => app.inject({ method: 'POST', url: '/auth/login', payload: body as object })

function validationMessage(res: { statusCode: number; json(): { code: string; message: string } }): string {
  expect(res.statusCode).toBe(400)
  expect(res.json().code).toBe('VALIDATION_FAILED')
  return res.json().message
}

describe('400 VALIDATION_FAILED names the field and what it allows', () => {
  it('an enum lists its values, and the value sent is not echoed', async () => {
    const message = validationMessage(
      await login({ identifier: uniqueEmail(), password: PASSWORD, device: { platform: 'playstation' } }),
    )
    expect(message).toContain('device.platform must be one of web, ios, android, ussd, desktop, other')
    expect(message).not.toContain('playstation')
  })

  it('an unknown field is named', async () => {
    const message = validationMessage(
      await login({ identifier: uniqueEmail(), password: PASSWORD, device: { platform: 'web' }, extra: 1 }),
    )
    expect(message).toBe('body has an unknown field "extra"')
  })

  it('every failing field is named, not only the first', async () => {
    const message = validationMessage(
      await app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { identifier: 'ab', password: 'short', displayName: '', nickname: 'x' },
      }),
    )
    expect(message).toContain('body.identifier must be at least 3 characters long')
    expect(message).toContain('body.password must be at least 8 characters long')
    expect(message).toContain('body.displayName must be at least 1 character long')
    expect(message).toContain('body has an unknown field "nickname"')
    expect(message).not.toContain('short')
  })

  it('a missing field and a wrong type say so', async () => {
    const message = validationMessage(await login({ identifier: uniqueEmail(), device: { platform: 'web' } }))
    expect(message).toBe('body.password is required')
    const typed = validationMessage(
      await login({
        identifier: uniqueEmail(),
        password: PASSWORD,
        device: { platform: 'web' },
        rememberMe: 'yes',
      }),
    )
    expect(typed).toBe('body.rememberMe must be a boolean (true or false)')
  })

  it('a union is reported by the branch that matched the value (logout-all: object or null)', async () => {
    const { pair } = await signIn(app)
    const res = await authed(app, 'POST', '/auth/logout-all', pair.accessToken, { keepCurrent: 'yes' })
    expect(validationMessage(res)).toBe('body.keepCurrent must be a boolean (true or false)')
    const array = await authed(app, 'POST', '/auth/logout-all', pair.accessToken, [1])
    expect(validationMessage(array)).toBe('body must be a JSON object or null')
  })

  it('stays short however many fields fail, and never echoes a token-shaped field name', async () => {
    const body: Record<string, unknown> = {
      identifier: uniqueEmail(),
      password: PASSWORD,
      device: { platform: 'web' },
    }
    for (let i = 0; i < 500; i++) body[`f${i}`] = i
    body['eyJhbGciOiJFZERTQSJ9'] = 1
    const message = validationMessage(await login(body))
    expect(message).toMatch(/^body has unknown fields "f0", "f1", "f2", "f3", "f4" and 496 more$/)
    expect(message).not.toContain('eyJ')
    expect(message.length).toBeLessThan(200)
  })
})

describe('a known path with another method', () => {
  it('answers 405 METHOD_NOT_ALLOWED with Allow listing the methods it takes', async () => {
    const res = await app.inject({ method: 'GET', url: '/auth/login' })
    expect(res.statusCode).toBe(405)
    expect(res.headers.allow).toBe('POST')
    expect(res.json()).toMatchObject({
      statusCode: 405,
      code: 'METHOD_NOT_ALLOWED',
      error: 'Method Not Allowed',
    })
  })

  it('lists HEAD with GET, and matches parametric paths', async () => {
    const me = await app.inject({ method: 'DELETE', url: '/auth/me' })
    expect(me.statusCode).toBe(405)
    expect(me.headers.allow).toBe('GET, HEAD')
    const admin = await app.inject({ method: 'GET', url: '/auth/admin/users/u-123/revoke-sessions' })
    expect(admin.statusCode).toBe(405)
    expect(admin.headers.allow).toBe('POST')
  })

  it('a path no route has is still 404 NOT_FOUND, query string or not', async () => {
    for (const url of [
      '/auth/nope',
      '/auth/login/extra',
      '/auth/admin/users//revoke-sessions',
      '/nope?x=1',
    ]) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(404)
      expect(res.json().code).toBe('NOT_FOUND')
      expect(res.headers.allow).toBeUndefined()
    }
    const q = await app.inject({ method: 'PUT', url: '/auth/sessions?limit=1' })
    expect(q.statusCode).toBe(405)
    expect(q.headers.allow).toBe('GET, HEAD')
  })
})
