import { describe, expect, it } from 'vitest'
import { loadTokenConfig } from '../src/config.ts'
import { authed, signIn, useTestApp } from './helpers/app.ts'

// CORS: the console's origin (and only an allowlisted one) may call the token service from a browser.
const defaults = useTestApp('cors_default')
const custom = useTestApp('cors_custom', { env: { CORS_ORIGINS: 'https://console.example.com' } })
const closed = useTestApp('cors_none', { env: { CORS_ORIGINS: 'none' } })

const preflight = (app: typeof defaults.app, origin: string, url = '/auth/login') =>
  app.inject({
    method: 'OPTIONS',
    url,
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  })

describe('CORS preflight', () => {
  // [which app, origin, allowed]
  const cases: [string, () => typeof defaults.app, string, boolean][] = [
    ['default', () => defaults.app, 'http://127.0.0.1:3002', true],
    ['default', () => defaults.app, 'http://localhost:3002', true],
    ['default', () => defaults.app, 'http://localhost:3003', false],
    ['default', () => defaults.app, 'http://evil.example', false],
    ['default', () => defaults.app, 'null', false],
    ['default', () => defaults.app, 'http://127.0.0.1:3002.evil.example', false],
    // Spellings a lax comparison (case folding, URL parsing, prefix or suffix match) would let through.
    ['default', () => defaults.app, 'HTTP://LOCALHOST:3002', false],
    ['default', () => defaults.app, 'http://localhost.:3002', false],
    ['default', () => defaults.app, 'http://localhost:3002/', false],
    ['default', () => defaults.app, 'http://localhost:03002', false],
    ['default', () => defaults.app, 'http://localhost', false],
    ['default', () => defaults.app, 'http://evil.localhost:3002', false],
    ['default', () => defaults.app, 'http://localhost:3002 http://evil.example', false],
    ['default', () => defaults.app, 'http://localhost:3002, http://evil.example', false],
    ['default', () => defaults.app, 'file://', false],
    ['custom', () => custom.app, 'https://console.example.com:443', false],
    ['custom', () => custom.app, 'https://console.example.com.evil.example', false],
    ['custom', () => custom.app, 'https://evilconsole.example.com', false],
    ['custom', () => custom.app, 'https://console.example.com', true],
    ['custom', () => custom.app, 'http://console.example.com', false],
    ['custom', () => custom.app, 'http://127.0.0.1:3002', false],
    ['none', () => closed.app, 'http://127.0.0.1:3002', false],
  ]
  it.each(cases)('%s allowlist, Origin %s → allowed: %s', async (_, app, origin, allowed) => {
    const res = await preflight(app(), origin)
    expect(res.headers.vary).toContain('Origin')
    expect(res.headers['access-control-allow-credentials']).toBeUndefined()
    if (allowed) {
      expect(res.statusCode).toBe(204)
      expect(res.headers['access-control-allow-origin']).toBe(origin)
      expect(res.headers['access-control-allow-methods']).toBe('GET, POST')
      expect(res.headers['access-control-allow-headers']).toBe('authorization, content-type')
      expect(res.headers['access-control-max-age']).toBe('600')
    } else {
      expect(res.statusCode).toBe(403)
      expect(res.json()).toMatchObject({ code: 'FORBIDDEN' })
      expect(res.json().message).toContain('CORS_ORIGINS')
      expect(res.headers['access-control-allow-origin']).toBeUndefined()
    }
  })

  it('answers a preflight of any route, before routing, rate limits and authentication', async () => {
    for (const url of ['/auth/me', '/auth/admin/users?identifier=x', '/auth/refresh-token'])
      expect((await preflight(defaults.app, 'http://localhost:3002', url)).statusCode).toBe(204)
  })

  it('leaves an OPTIONS that is not a preflight as it was (405 with Allow)', async () => {
    const res = await defaults.app.inject({ method: 'OPTIONS', url: '/auth/login' })
    expect(res.statusCode).toBe(405)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('CORS on requests', () => {
  it('echoes an allowed origin (never *), exposes Retry-After and WWW-Authenticate, and never allows credentials', async () => {
    const user = await signIn(defaults.app)
    const me = await defaults.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: { origin: 'http://localhost:3002', authorization: `Bearer ${user.pair.accessToken}` },
    })
    expect(me.statusCode).toBe(200)
    expect(me.headers['access-control-allow-origin']).toBe('http://localhost:3002')
    expect(me.headers['access-control-expose-headers']).toBe('Retry-After, WWW-Authenticate')
    expect(me.headers['access-control-allow-credentials']).toBeUndefined()
    expect(me.headers.vary).toContain('Origin')
  })

  it.each([
    ['401 TOKEN_MISSING', 'GET', '/auth/me', 401],
    ['404 NOT_FOUND', 'GET', '/nowhere', 404],
    ['400 VALIDATION_FAILED', 'POST', '/auth/login', 400],
  ])(
    'an error answer (%s) carries the header for an allowed origin (the console reads its code), never for another',
    async (_, method, url, status) => {
      for (const [origin, allowed] of [
        ['http://localhost:3002', true],
        ['http://evil.example', false],
      ] as const) {
        const res = await defaults.app.inject({
          method: method as 'GET' | 'POST',
          url,
          headers: { origin, 'content-type': 'application/json' },
          ...(method === 'POST' ? { payload: '{}' } : {}),
        })
        expect(res.statusCode).toBe(status)
        expect(res.headers['access-control-allow-origin']).toBe(allowed ? origin : undefined)
        expect(res.headers['access-control-allow-credentials']).toBeUndefined()
      }
    },
  )

  it.each([
    ['another origin', { origin: 'http://evil.example' }],
    ['no origin', {}],
  ])('%s: served, but without the header a browser page cannot read it', async (_, headers) => {
    const res = await defaults.app.inject({ method: 'GET', url: '/.well-known/jwks.json', headers })
    expect(res.statusCode).toBe(200)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    expect(res.headers.vary).toContain('Origin')
  })

  it.each(['access_token', 'token', 'authorization'])(
    'a token in the URL (?%s=) is never taken for the Authorization header',
    async (name) => {
      const user = await signIn(defaults.app)
      const res = await defaults.app.inject({
        method: 'GET',
        url: `/auth/me?${name}=${user.pair.accessToken}`,
      })
      // 400 (an unknown query field) or 401 TOKEN_MISSING: never the caller's data.
      expect([400, 401]).toContain(res.statusCode)
      // And a token that did arrive in a header still works there.
      expect((await authed(defaults.app, 'GET', '/auth/me', user.pair.accessToken)).statusCode).toBe(200)
    },
  )
})

describe('CORS_ORIGINS', () => {
  it.each([
    ['*', 'is not an origin'],
    ['https://console.example.com/console', 'no path'],
    ['ftp://console.example.com', 'is not an origin'],
    ['http://localhost:80', 'write http://localhost'],
    ['https://*.example.com', 'is not an origin'],
    ['console.example.com', 'is not an origin'],
  ])('%s is a start-up error naming the variable', (value, says) => {
    expect(() => loadTokenConfig({ CORS_ORIGINS: value })).toThrow(/CORS_ORIGINS/)
    expect(() => loadTokenConfig({ CORS_ORIGINS: value })).toThrow(says)
  })

  it('takes a comma-separated list, as browsers spell origins', () => {
    expect(
      loadTokenConfig({ CORS_ORIGINS: 'https://A.example.com, http://localhost:5173/' }).CORS_ORIGINS,
    ).toEqual(['https://a.example.com', 'http://localhost:5173'])
    expect(loadTokenConfig({}).CORS_ORIGINS).toEqual(['http://127.0.0.1:3002', 'http://localhost:3002'])
  })
})
