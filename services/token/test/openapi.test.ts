import { ERRORS } from '@africhain/http'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  type OpenApiDocument,
  responsesOf,
  typecheckAgainst,
} from '../../../packages/http/test/helpers/openapi-client.ts'
import { useTestApp } from './helpers/app.ts'

// The OpenAPI document at /docs/json is what client teams generate code from: every route with the statuses
// docs/api.md gives it, each described, each error status with the codes it can carry, shared shapes as components.
const { app } = useTestApp('openapi')
let doc: OpenApiDocument

beforeAll(async () => {
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  expect(res.statusCode).toBe(200)
  doc = res.json()
})

/** docs/api.md's routes and the statuses each must document (at least). */
const CONTRACT: Record<string, number[]> = {
  'post /auth/register': [201, 400, 409, 413, 429, 503],
  'post /auth/login': [200, 400, 401, 403, 413, 429, 503],
  'post /auth/refresh-token': [200, 400, 401, 403, 429, 503],
  'post /auth/logout': [204, 401, 503],
  'get /auth/me': [200, 401, 503],
  'get /auth/sessions': [200, 401, 503],
  'post /auth/revoke-session': [204, 400, 401, 404, 503],
  'post /auth/logout-all': [200, 400, 401, 503],
  'post /auth/introspect': [200, 400, 401, 429, 503],
  'get /.well-known/jwks.json': [200],
  'post /auth/password': [204, 400, 401, 429, 503],
  'get /auth/admin/users': [200, 400, 401, 403, 503],
  'get /auth/admin/users/{userId}': [200, 401, 403, 404, 503],
  'post /auth/admin/users/{userId}/unlock': [204, 401, 403, 404, 503],
  'post /auth/admin/users/{userId}/disable': [204, 401, 403, 404, 503],
  'post /auth/admin/users/{userId}/enable': [204, 401, 403, 404, 503],
  'post /auth/admin/sessions/{sessionId}/revoke': [204, 401, 403, 404, 503],
  'post /auth/admin/users/{userId}/revoke-sessions': [200, 401, 403, 404, 503],
}

type ErrorContent = { allOf?: [{ $ref?: string }, { properties?: { code?: { enum?: string[] } } }] }
const codesOf = (response: { content?: Record<string, unknown> }) =>
  (response.content?.['application/json'] as { schema?: ErrorContent } | undefined)?.schema?.allOf?.[1]
    ?.properties?.code?.enum

describe('GET /docs/json', () => {
  it('documents every contract route with its statuses', () => {
    for (const [route, statuses] of Object.entries(CONTRACT)) {
      const [method, path] = route.split(' ') as [string, string]
      const operation = doc.paths[path]?.[method]
      expect(operation, route).toBeDefined()
      expect(Object.keys(operation!.responses ?? {}).map(Number), route).toEqual(
        expect.arrayContaining(statuses),
      )
    }
  })

  it('describes every response (no "Default Response") and every operation', () => {
    for (const { path, method, status, response } of responsesOf(doc)) {
      expect(response.description, `${method} ${path} ${status}`).toBeTruthy()
      expect(response.description, `${method} ${path} ${status}`).not.toBe('Default Response')
    }
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item))
        expect((op as { summary?: string }).summary, `${method} ${path}`).toBeTruthy()
  })

  it('gives each error status of the contract routes the codes it can carry, as an enum of ErrorResponse', () => {
    for (const { path, method, status, response } of responsesOf(doc)) {
      if (Number(status) < 400 || !CONTRACT[`${method} ${path}`]) continue
      const schema = (response.content?.['application/json'] as { schema?: ErrorContent } | undefined)?.schema
      expect(schema?.allOf?.[0]?.$ref, `${method} ${path} ${status}`).toBe(
        '#/components/schemas/ErrorResponse',
      )
      const codes = codesOf(response)
      expect(codes?.length, `${method} ${path} ${status}`).toBeGreaterThan(0)
      for (const code of codes!)
        expect(ERRORS[code as keyof typeof ERRORS], `${code} on ${status}`).toBe(Number(status))
    }
    expect(codesOf(doc.paths['/auth/refresh-token']!.post!.responses![401]!)).toEqual(
      expect.arrayContaining(['TOKEN_REUSED', 'DEVICE_MISMATCH', 'TOKEN_EXPIRED']),
    )
  })

  it('registers shared shapes once as components, enums as enum', () => {
    const schemas = doc.components?.schemas ?? {}
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(['ErrorResponse', 'TokenPair', 'Session']))
    expect(Object.keys(schemas).filter((k) => k.startsWith('def-'))).toEqual([])
    const login = JSON.stringify(doc.paths['/auth/login']!.post)
    expect(login).toContain('"$ref":"#/components/schemas/TokenPair"')
    expect(login).toContain('"enum":["web","ios","android","ussd","desktop","other"]')
    expect(schemas.TokenPair).toMatchObject({
      required: expect.arrayContaining(['accessToken', 'refreshToken', 'sessionId']),
      properties: { expiresIn: { description: expect.any(String) } },
    })
  })
})

describe('a client generated from it with openapi-typescript', () => {
  const header = `import type { components, paths } from './api'
type Login = paths['/auth/login']['post']
type LoginBody = Login['requestBody']['content']['application/json']
type Login401 = Login['responses'][401]['content']['application/json']
type Refresh401 = paths['/auth/refresh-token']['post']['responses'][401]['content']['application/json']
`
  it('type-checks a program using it, and refuses one that breaks the contract', async () => {
    const result = await typecheckAgainst(doc, {
      good: `${header}
const body: LoginBody = { identifier: '+254712345678', password: 'pw', device: { platform: 'ussd' } }
const pair: Login['responses'][200]['content']['application/json'] = {
  accessToken: 'a', refreshToken: 'r', tokenType: 'Bearer', expiresIn: 900, refreshExpiresIn: 604800, sessionId: 's',
}
const failed: Login401 = { statusCode: 401, code: 'INVALID_CREDENTIALS', error: 'Unauthorized', message: 'no' }
const reused: Refresh401['code'] = 'TOKEN_REUSED'
const sessions: paths['/auth/sessions']['get']['responses'][200]['content']['application/json'] = {
  sessions: [{ sessionId: 's', current: true, device: { platform: 'web' }, ip: '198.51.100.7',
    createdAt: '', lastActiveAt: '', expiresAt: '' }],
}
const session: components['schemas']['Session'] = sessions.sessions[0]!
export { body, pair, failed, reused, session }
`,
      // Each line is one mistake the generated types must catch.
      badPlatform: `${header}export const b: LoginBody = { identifier: 'x', password: 'y', device: { platform: 'playstation' } }\n`,
      badCode: `${header}export const c: Login401['code'] = 'TOKEN_REUSED'\n`,
      missingField: `${header}export const b: LoginBody = { identifier: 'x', device: { platform: 'web' } }\n`,
      badStatus: `${header}export type R = Login['responses'][418]\n`,
    })
    expect(result.good).toEqual([])
    for (const name of ['badPlatform', 'badCode', 'missingField', 'badStatus'])
      expect(result[name]?.length, `${name} must not compile`).toBeGreaterThan(0)
  }, 20_000)
})
