import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorHandlerPlugin, serverOptions } from '../src/index.ts'

// The 400 message from real ajv errors (Fastify's own compiler with the services' options), for the schema
// shapes the services' schemas do not all have: unions of literals, arrays, odd field names, big bodies.
const app = Fastify(serverOptions({ logLevel: 'silent', trustProxy: false }))

beforeAll(async () => {
  await app.register(errorHandlerPlugin)
  app.post(
    '/things/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 4 } } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind'],
          properties: {
            kind: {
              anyOf: [
                { type: 'string', const: 'a' },
                { type: 'string', const: 'b' },
              ],
            },
            tags: { type: 'array', maxItems: 2, items: { type: 'string', minLength: 1 } },
            'odd key': { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    async () => ({ ok: true }),
  )
  await app.ready()
})
afterAll(() => app.close())

const post = (payload: unknown, id = 'x') =>
  app.inject({ method: 'POST', url: `/things/${id}`, payload: payload as object })

async function message(payload: unknown, id?: string): Promise<string> {
  const res = await post(payload, id)
  expect(res.statusCode).toBe(400)
  expect(res.json().code).toBe('VALIDATION_FAILED')
  return res.json().message
}

describe('validation messages', () => {
  it('a union of literals lists its values, whatever the wrong value is', async () => {
    expect(await message({ kind: 'c' })).toBe('body.kind must be one of a, b')
    expect(await message({ kind: 7 })).toBe('body.kind must be one of a, b')
  })

  it('names array items by index and odd field names quoted, never their values', async () => {
    const text = await message({ kind: 'a', tags: ['ok', ''], 'odd key': 0 })
    expect(text).toBe('body.tags[1] must be at least 1 character long; body["odd key"] must be at least 1')
  })

  it('a path parameter is named as params', async () => {
    expect(await message({ kind: 'a' }, 'toolong')).toBe('params.id must be at most 4 characters long')
  })

  it('a missing body says what is expected', async () => {
    const res = await app.inject({ method: 'POST', url: '/things/x' })
    expect(res.json().message).toBe('body must be a JSON object')
  })

  it('many problems: a bounded message, unknown names shown only when they look like names', async () => {
    const body: Record<string, unknown> = { kind: 'z', tags: ['', '', ''] }
    for (let i = 0; i < 50; i++) body[`extra_${i}`] = i
    body['a "quoted"\nname'] = 1
    const text = await message(body)
    expect(text).toContain('body.kind must be one of a, b')
    expect(text).toContain('body.tags must have at most 2 items')
    expect(text).toContain(
      'body has unknown fields "extra_0", "extra_1", "extra_2", "extra_3", "extra_4" and 46 more',
    )
    expect(text).not.toContain('quoted')
    expect(text.length).toBeLessThanOrEqual(601)
  })
})
