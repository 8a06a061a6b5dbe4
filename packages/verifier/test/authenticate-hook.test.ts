import { ApiError, errorHandlerPlugin } from '@africhain/http'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { verifierPlugin } from '../src/plugin.ts'

async function call(verify: () => Promise<unknown>) {
  const app = Fastify()
  await app.register(errorHandlerPlugin)
  await app.register(verifierPlugin, { verify: verify as never })
  let ran = false
  app.get('/me', { onRequest: app.authenticate }, async () => {
    ran = true
    return 'ok'
  })
  try {
    const res = await app.inject({ url: '/me', headers: { authorization: 'Bearer abc' } })
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

  it('an Error rejection keeps its own answer', async () => {
    expect(await call(() => Promise.reject(new ApiError('TOKEN_REVOKED')))).toEqual({
      ran: false,
      status: 401,
      code: 'TOKEN_REVOKED',
    })
  })
})
