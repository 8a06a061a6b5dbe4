import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createAuthClient, type FetchLike, memoryStorage } from '../src/index.ts'
import { originOf } from '../src/origin.ts'
import { type FakeTokenService, startFakeTokenService, USER } from './helpers/fake-token-service.ts'
import { expireStoredSession } from './helpers/session.ts'

// docs/api.md: `auth.fetch` "attaches the token only to baseUrl's origin and `allowedOrigins`". A bearer token
// sent to any other origin (a link in the app, a third-party API, an attacker's URL) is a stolen session.

const BASE = 'https://auth.africhain.example'
const ALLOWED = ['HTTPS://Analytics.Africhain.Example:443/', 'http://127.0.0.1:8080']

type Sent = { url: string; authorization: string | null }

/** A client whose fetch goes to the fake token service for token-service calls and records everything else. */
async function setup(service: FakeTokenService) {
  const sent: Sent[] = []
  const fetch: FetchLike = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
    const path = url.startsWith(`${BASE}/`) ? url.slice(BASE.length) : undefined
    if (path === '/auth/login' || path === '/auth/refresh-token') {
      // The client's own token-service calls: to the fake service on loopback.
      return globalThis.fetch(service.baseUrl + path, { method: 'POST', headers, body: init?.body ?? null })
    }
    sent.push({ url, authorization: headers.get('authorization') })
    const expired = url.endsWith('/expired')
    return new Response(JSON.stringify(expired ? { code: 'TOKEN_EXPIRED' } : {}), {
      status: expired ? 401 : 200,
      headers: { 'content-type': 'application/json' },
    })
  }
  const storage = memoryStorage()
  const auth = createAuthClient({ baseUrl: BASE, allowedOrigins: ALLOWED, fetch, storage, locks: null })
  await auth.login(USER)
  return { auth, sent, storage }
}

describe('auth.fetch attaches the bearer token only to trusted origins', () => {
  let service: FakeTokenService
  beforeEach(async () => {
    service = await startFakeTokenService()
  })
  afterEach(async () => {
    vi.unstubAllGlobals()
    await service.close()
  })

  const cases: [string, () => RequestInfo | URL, boolean][] = [
    ['baseUrl, another path', () => `${BASE}/api/orders`, true],
    ['baseUrl with the default port spelled out', () => 'https://auth.africhain.example:443/x', true],
    ['baseUrl in upper case', () => 'HTTPS://AUTH.AFRICHAIN.EXAMPLE/x', true],
    ['an allowed origin (normalised)', () => 'https://analytics.africhain.example/analytics/user', true],
    ['an allowed loopback origin with its port', () => 'http://127.0.0.1:8080/api', true],
    ['a URL object of an allowed origin', () => new URL('https://analytics.africhain.example/x'), true],
    ['a Request of baseUrl', () => new Request(`${BASE}/x`), true],
    ['another port', () => 'https://auth.africhain.example:8443/x', false],
    ['another scheme', () => 'http://auth.africhain.example/x', false],
    ['a subdomain', () => 'https://evil.auth.africhain.example/x', false],
    ['the parent domain', () => 'https://africhain.example/x', false],
    ['a lookalike suffix', () => 'https://auth.africhain.example.evil.example/x', false],
    ['baseUrl as userinfo', () => 'https://auth.africhain.example@evil.example/x', false],
    ['a backslash authority', () => 'https:\\\\evil.example\\x', false],
    ['the allowed loopback on another port', () => 'http://127.0.0.1:8081/api', false],
    ['a URL object of another origin', () => new URL('https://evil.example/x'), false],
    [
      'a Request of another origin',
      () => new Request('https://evil.example/x', { method: 'POST', body: 'x' }),
      false,
    ],
    ['a data: URL', () => 'data:text/plain,hello', false],
  ]

  it.each(cases)('%s → token attached: %s', async (_name, input, attached) => {
    const { auth, sent } = await setup(service)
    const res = await auth.fetch(input())
    expect(res.status).toBe(200)
    expect(sent).toHaveLength(1)
    const token = sent[0]!.authorization
    if (attached) expect(token).toMatch(/^Bearer /)
    else expect(token).toBeNull()
  })

  it.each([
    ['a path on the page origin', '/api/x', true],
    ['a relative path', 'api/x', true],
    ['a protocol-relative URL to another host', '//evil.example/x', false],
    ['a protocol-relative URL to the page host', '//auth.africhain.example/x', true],
  ])(
    'in a page on baseUrl, resolves relative URLs like fetch does: %s → %s',
    async (_name, url, attached) => {
      vi.stubGlobal('location', { href: `${BASE}/app/index.html` })
      const { auth, sent } = await setup(service)
      await auth.fetch(url)
      expect(sent[0]!.authorization !== null).toBe(attached)
    },
  )

  it('never refreshes for another origin, and does not retry its 401 TOKEN_EXPIRED', async () => {
    const { auth, sent, storage } = await setup(service)
    const refreshes = service.refreshes
    await expireStoredSession(storage)
    expect((await auth.fetch('https://evil.example/x')).status).toBe(200)
    expect((await auth.fetch('https://evil.example/expired')).status).toBe(401)
    expect(sent).toEqual([
      { url: 'https://evil.example/x', authorization: null },
      { url: 'https://evil.example/expired', authorization: null },
    ])
    expect(service.refreshes).toBe(refreshes)
    // The same expired session does refresh for baseUrl's origin.
    await auth.fetch(`${BASE}/x`)
    expect(service.refreshes).toBe(refreshes + 1)
  })

  it('rejects allowedOrigins entries that are not origins', () => {
    for (const bad of ['https://api.example/path', 'not a url', 'https://user:pw@api.example', '*']) {
      expect(() => createAuthClient({ baseUrl: BASE, allowedOrigins: [bad] }), bad).toThrow(TypeError)
    }
  })
})

describe('origins in an engine whose URL class has no origin (older React Native)', () => {
  afterEach(() => vi.unstubAllGlobals())

  it.each([
    ['https://auth.africhain.example/x', 'https://auth.africhain.example'],
    ['HTTPS://Auth.Africhain.Example:443', 'https://auth.africhain.example'],
    ['http://127.0.0.1:8080/api?q=1', 'http://127.0.0.1:8080'],
    ['http://[::1]:3001/', 'http://[::1]:3001'],
    ['https://auth.africhain.example@evil.example/', undefined],
    ['https:\\\\evil.example', undefined],
    ['https://auth.africhain.example\\@evil.example/', undefined],
    ['//evil.example/x', undefined],
    ['/relative', undefined],
    ['ftp://files.example/', undefined],
  ])('%s → %s (anything unusual is unknown, so untrusted)', (url, origin) => {
    class NoOriginURL {
      constructor() {
        throw new TypeError('URL is not implemented')
      }
    }
    vi.stubGlobal('URL', NoOriginURL)
    expect(originOf(url)).toBe(origin)
  })
})
