import { ERRORS } from '@africhain/http'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  type OpenApiDocument,
  responsesOf,
  typecheckAgainst,
} from '../../../packages/http/test/helpers/openapi-client.ts'
import { useTestApp } from './helpers/app.ts'

// The analytics API's OpenAPI document, as a client team would use it: statuses, descriptions, error codes
// per status, components, and a client generated with openapi-typescript that type-checks.
const { app } = useTestApp('openapi')
let doc: OpenApiDocument

beforeAll(async () => {
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  expect(res.statusCode).toBe(200)
  doc = res.json()
})

const SECURED = [200, 400, 401, 403, 503]
const ABOUT_A_USER = [...SECURED, 404]
const CONTRACT: Record<string, number[]> = {
  'get /analytics': SECURED,
  'get /analytics/user': ABOUT_A_USER,
  'get /analytics/events': ABOUT_A_USER,
  'get /analytics/security': ABOUT_A_USER,
  'get /analytics/security/flagged': SECURED,
  'get /analytics/report': SECURED,
  'get /analytics/ips/{ip}': SECURED,
  'get /analytics/live': [...SECURED, 429],
}

type ErrorContent = { allOf?: [{ $ref?: string }, { properties?: { code?: { enum?: string[] } } }] }

describe('GET /docs/json', () => {
  it('documents every contract route with its statuses, each described', () => {
    for (const [route, statuses] of Object.entries(CONTRACT)) {
      const [method, path] = route.split(' ') as [string, string]
      const operation = doc.paths[path]?.[method]
      expect(operation, route).toBeDefined()
      expect(Object.keys(operation!.responses ?? {}).map(Number), route).toEqual(
        expect.arrayContaining(statuses),
      )
    }
    for (const { path, method, status, response } of responsesOf(doc)) {
      expect(response.description, `${method} ${path} ${status}`).toBeTruthy()
      expect(response.description, `${method} ${path} ${status}`).not.toBe('Default Response')
    }
  })

  it('gives each error status the codes it can carry, as an enum of the shared ErrorResponse', () => {
    for (const { path, method, status, response } of responsesOf(doc)) {
      if (Number(status) < 400 || !CONTRACT[`${method} ${path}`]) continue
      const schema = (response.content?.['application/json'] as { schema?: ErrorContent } | undefined)?.schema
      expect(schema?.allOf?.[0]?.$ref, `${method} ${path} ${status}`).toBe(
        '#/components/schemas/ErrorResponse',
      )
      const codes = schema?.allOf?.[1]?.properties?.code?.enum ?? []
      expect(codes.length, `${method} ${path} ${status}`).toBeGreaterThan(0)
      for (const code of codes)
        expect(ERRORS[code as keyof typeof ERRORS], `${code} on ${status}`).toBe(Number(status))
    }
  })

  it('shares RiskAssessment and SessionEvent as components; the type filter is an enum', () => {
    const schemas = doc.components?.schemas ?? {}
    expect(Object.keys(schemas)).toEqual(
      expect.arrayContaining(['ErrorResponse', 'RiskAssessment', 'SessionEvent']),
    )
    expect(Object.keys(schemas).filter((k) => k.startsWith('def-'))).toEqual([])
    const events = doc.paths['/analytics/events']!.get as {
      parameters?: { name: string; schema: { enum?: string[] } }[]
    }
    const type = events.parameters?.find((p) => p.name === 'type')
    expect(type?.schema.enum).toEqual(expect.arrayContaining(['session.created', 'token.reuse_detected']))
  })
})

describe('a client generated from it with openapi-typescript', () => {
  const header = `import type { components, paths } from './api'
type Events = paths['/analytics/events']['get']
type Query = NonNullable<Events['parameters']['query']>
type Page = Events['responses'][200]['content']['application/json']
type Forbidden = Events['responses'][403]['content']['application/json']
`
  it('type-checks a program using it, and refuses one that breaks the contract', async () => {
    const result = await typecheckAgainst(doc, {
      good: `${header}
const query: Query = { type: 'session.revoked', limit: 10, cursor: 'abc' }
const forbidden: Forbidden['code'] = 'FORBIDDEN'
function firstReason(page: Page): string | undefined {
  const e = page.events[0]
  return e && e.type === 'session.revoked' ? e.data.reason : undefined
}
const risk: components['schemas']['RiskAssessment'] = {
  userId: 'u', riskScore: 65, suspicious: true, holderScore: 40,
  factors: [{ code: 'MULTIPLE_IPS', points: 30, detail: { distinctIps: 4 } }],
  recommendations: [], evaluatedAt: '',
}
export { query, forbidden, firstReason, risk }
`,
      badType: `${header}export const q: Query = { type: 'session.exploded' }\n`,
      badCode: `${header}export const c: Forbidden['code'] = 'TOKEN_REUSED'\n`,
      badField: `${header}export const f = (p: Page) => p.nextPage\n`,
    })
    expect(result.good).toEqual([])
    for (const name of ['badType', 'badCode', 'badField'])
      expect(result[name]?.length, `${name} must not compile`).toBeGreaterThan(0)
  }, 20_000)
})
