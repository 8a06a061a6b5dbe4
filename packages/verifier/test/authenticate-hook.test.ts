import { ApiError, errorHandlerPlugin } from '@africhain/http'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { verifierPlugin } from '../src/plugin.ts'

async function call(verify: () => Promise<unknown>, authorization: string | null = 'Bearer abc') {
  const app = Fastify()
  await app.register(errorHandlerPlugin)
  await app.register(verifierPlugin, { verify: verify as never })
  let ran = false
  app.get('/me', { onRequest: app.authenticate }, async (request) => {
    ran = true
    return { code: request.auth?.userId }
  })
  try {
    const res = await app.inject({ url: '/me', headers: authorization === null ? {} : { authorization } })
    return { ran, status: res.statusCode, code: (res.json() as { code: string }).code }
  } finally {
    await app.close()
  }
}

describe('authenticate hook fails closed', () => {
  // A rejection that is not an Error says nothing about the token: the route never runs, the answer is 503.
  for (const reason of [undefined, null, 0, '', 'no', { code: 'TOKEN_EXPIRED' }]) {
    it(`a verify rejecting with ${JSON.stringify(reason) ?? 'undefined'} answers 503 DEPENDENCY_UNAVAILABLE`, async () => {
      expect(await call(() => Promise.reject(reason))).toEqual({
        ran: false,
        status: 503,
        code: 'DEPENDENCY_UNAVAILABLE',
      })
    })
  }

  // Only the types stop a verify from resolving with nothing; the hook does not rely on them.
  for (const answer of [undefined, null]) {
    it(`a verify resolving with ${JSON.stringify(answer) ?? 'undefined'} answers 503 DEPENDENCY_UNAVAILABLE`, async () => {
      expect(await call(() => Promise.resolve(answer))).toEqual({
        ran: false,
        status: 503,
        code: 'DEPENDENCY_UNAVAILABLE',
      })
    })
  }

  it('(control) a verify answering an auth context lets the route run with it', async () => {
    const auth = { userId: 'u1', sessionId: 's1', roles: ['user'], jti: 'j', exp: 2e9, iat: 1e9 }
    expect(await call(() => Promise.resolve(auth))).toEqual({ ran: true, status: 200, code: 'u1' })
  })

  it.each([
    ['no Authorization header', null, 'TOKEN_MISSING'],
    ['a header that is not a bearer token', 'Basic abc', 'TOKEN_INVALID'],
  ])('%s answers 401 before verify runs', async (_, authorization, code) => {
    let verified = false
    const verify = () => {
      verified = true
      return Promise.resolve({})
    }
    expect(await call(verify, authorization)).toEqual({ ran: false, status: 401, code })
    expect(verified).toBe(false)
  })

  it('an Error rejection keeps its own answer', async () => {
    expect(await call(() => Promise.reject(new ApiError('TOKEN_REVOKED')))).toEqual({
      ran: false,
      status: 401,
      code: 'TOKEN_REVOKED',
    })
  })
})
