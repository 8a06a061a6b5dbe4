import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { signIn, useTestApp } from './helpers/app.ts'

// docs/security.md: "Every parser of attacker input (Basic credentials, percent-encoding, base64) is a place for a
// 500." The Authorization header of /auth/introspect is attacker input: whatever it holds, the answer is the
// contract's 401 CLIENT_UNAUTHORIZED with `WWW-Authenticate: Basic`, or 200 for the one right credential.

const SECRET = 'introspection secret with spaces & symbols: é%+'
const { app } = useTestApp('introspect', {
  env: {
    INTROSPECTION_CLIENTS: `svc.analytics:${createHash('sha256').update(SECRET).digest('hex')}`,
  },
})
let token: string

beforeAll(async () => {
  token = (await signIn(app)).pair.accessToken
})

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
const form = (s: string) => new URLSearchParams({ s }).toString().slice(2)

const introspect = (authorization: string | undefined) =>
  app.inject({
    method: 'POST',
    url: '/auth/introspect',
    headers: authorization === undefined ? {} : { authorization },
    payload: { token },
  })

describe('introspection client credentials', () => {
  it.each([
    ['form-encoded id and secret', `Basic ${b64(`svc.analytics:${form(SECRET)}`)}`],
    ['percent-encoded secret', `Basic ${b64(`svc.analytics:${encodeURIComponent(SECRET)}`)}`],
    ['lower-case scheme', `basic ${b64(`svc.analytics:${encodeURIComponent(SECRET)}`)}`],
  ])('accepts the right credentials (%s)', async (_name, authorization) => {
    const res = await introspect(authorization)
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ active: true, client_id: 'svc.analytics' })
  })

  it.each([
    ['no header', undefined],
    ['empty header', ''],
    ['only the scheme', 'Basic'],
    ['the scheme and a space', 'Basic '],
    ['a bearer token', `Bearer ${b64('svc.analytics:x')}`],
    ['no colon', `Basic ${b64('svc.analytics')}`],
    ['empty id', `Basic ${b64(`:${encodeURIComponent(SECRET)}`)}`],
    ['empty secret', `Basic ${b64('svc.analytics:')}`],
    ['only a colon', `Basic ${b64(':')}`],
    ['broken percent-encoding in the id', `Basic ${b64('%E0%A4%A:x')}`],
    ['broken percent-encoding in the secret', `Basic ${b64('svc.analytics:%E0%A4%A')}`],
    ['a lone percent sign', `Basic ${b64('%:%')}`],
    ['percent-encoded invalid UTF-8', `Basic ${b64('%C3%28:%FF')}`],
    ['raw invalid UTF-8', `Basic ${Buffer.from([0xc3, 0x28, 0x3a, 0xff]).toString('base64')}`],
    ['not base64', 'Basic !!!!'],
    ['base64 with a bad length', 'Basic abcde'],
    ['base64url alphabet', `Basic ${Buffer.from('svc.analytics:??>>').toString('base64url')}`],
    ['padding in the middle', `Basic ${b64('svc')}=${b64('.analytics:x')}`],
    ['two credentials', `Basic ${b64('a:b')} ${b64('c:d')}`],
    ['unicode in the header', 'Basic ✓✓✓✓'],
    ['unicode id and secret', `Basic ${b64('ключ:秘密')}`],
    ['a NUL inside', `Basic ${b64('svc.analytics\u0000:x')}`],
    ['a 10 KB credential', `Basic ${b64(`svc.analytics:${'x'.repeat(10_000)}`)}`],
    ['the wrong secret', `Basic ${b64('svc.analytics:wrong')}`],
    ['an unknown client', `Basic ${b64(`billing:${encodeURIComponent(SECRET)}`)}`],
    ['the secret unencoded (a % that is not an escape)', `Basic ${b64(`svc.analytics:${SECRET}`)}`],
  ])('answers 401 CLIENT_UNAUTHORIZED to %s', async (_name, authorization) => {
    const res = await introspect(authorization)
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('CLIENT_UNAUTHORIZED')
    expect(res.headers['www-authenticate']).toBe('Basic')
  })

  it('never answers 5xx, whatever the header holds (property)', async () => {
    // Header values a real HTTP parser lets through: tab, visible ASCII, space, and obs-text bytes.
    const headerChar = fc.oneof(
      fc.constantFrom('\t', ' ', ':', '%', '=', '+', '/'),
      fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
    )
    const headerValue = fc.array(headerChar, { maxLength: 80 }).map((cs) => cs.join(''))
    // Well-formed base64 around arbitrary (often broken) percent-encoding, to get past the base64 check.
    const percentish = fc
      .array(
        fc.oneof(fc.constantFrom('%', ':', '%E0', '%A4', '%FF', '%2', '+'), fc.string({ maxLength: 3 })),
        {
          maxLength: 12,
        },
      )
      .map((parts) => `Basic ${b64(parts.join(''))}`)
    const header = fc.oneof(
      headerValue,
      headerValue.map((v) => `Basic ${v}`),
      percentish,
    )
    await fc.assert(
      fc.asyncProperty(header, async (authorization) => {
        const res = await introspect(authorization)
        expect(res.statusCode).toBe(401)
        expect(res.json().code).toBe('CLIENT_UNAUTHORIZED')
      }),
      { numRuns: 300 },
    )
  })
})
