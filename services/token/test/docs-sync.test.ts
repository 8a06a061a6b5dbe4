import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { createDb } from '@africhain/db'
import { EventData, SESSION_EVENT_TYPES } from '@africhain/events'
import { ERRORS } from '@africhain/http'
import { Redis } from 'ioredis'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildApp as buildAnalyticsApp } from '../../analytics/src/app.ts'
import { AnalyticsConfigSpec, loadAnalyticsConfig } from '../../analytics/src/config.ts'
import { TokenConfigSpec } from '../src/config.ts'
import { cleanup, startApp, testConfig } from './helpers/app.ts'

// The documentation in docs/ describes what the code does; this file fails when the code grows something the
// documents do not mention: a route either service registers, an error code, an event type, an environment
// variable — and when any tracked file mentions a `*.md` document the repository does not hold.

const ROOT = resolve(import.meta.dirname, '../../..')
const doc = (name: string) => readFileSync(join(ROOT, 'docs', name), 'utf8')

/**
 * `METHOD /path` of every route in Fastify's printRoutes tree (`├── /auth/logout (POST)`, children indented
 * under their parent and printed as the rest of its path). HEAD is left out: Fastify adds it to every GET.
 */
export function routesOf(tree: string): string[] {
  const routes: string[] = []
  const stack: string[] = []
  for (const line of tree.split('\n')) {
    const m = /^(.*?)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (!m) continue
    const depth = m[1]!.length / 4
    stack.length = depth
    stack.push(m[2]!)
    const path = stack.join('')
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim())) {
      if (method !== '' && method !== 'HEAD') routes.push(`${method} ${path}`)
    }
  }
  return [...new Set(routes)].sort()
}

const mentions = (text: string, literal: string) => text.includes(`\`${literal}\``)

let tokenRoutes: string[] = []
let analyticsRoutes: string[] = []
/** `METHOD /path` → the error codes its OpenAPI responses declare, for both apps. */
const declaredCodes = new Map<string, Set<string>>()

/** Every `code` enum under an operation's responses (errorResponses in packages/http/src/docs.ts). */
function codesOf(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const v of value) codesOf(v, into)
  else if (value !== null && typeof value === 'object') {
    const code = (value as { properties?: { code?: { enum?: unknown } } }).properties?.code?.enum
    if (Array.isArray(code)) for (const c of code) into.add(String(c))
    for (const v of Object.values(value)) codesOf(v, into)
  }
  return into
}

function recordDeclaredCodes(openapi: unknown): void {
  const paths = (openapi as { paths: Record<string, Record<string, { responses?: unknown }>> }).paths
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const route = `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`
      declaredCodes.set(route, codesOf(operation.responses, new Set()))
    }
  }
}

beforeAll(async () => {
  const config = testConfig('docs-sync')
  const token = await startApp(config, { background: false })
  try {
    tokenRoutes = routesOf(token.printRoutes({ commonPrefix: false }))
    recordDeclaredCodes(token.swagger())
  } finally {
    await token.close()
    await cleanup(config)
  }
  // The analytics app registers its routes without touching its connections: a lazy Redis and a database
  // nobody listens on are enough to read its route table.
  const redis = new Redis({ lazyConnect: true })
  const db = createDb({ url: 'mysql://root@127.0.0.1:1/none', connectTimeoutMs: 300 })
  const analytics = await buildAnalyticsApp(loadAnalyticsConfig({ LOG_LEVEL: 'silent' }), {
    redis,
    db: db as never,
  })
  try {
    await analytics.ready()
    analyticsRoutes = routesOf(analytics.printRoutes({ commonPrefix: false }))
    recordDeclaredCodes(analytics.swagger())
  } finally {
    await analytics.close()
    redis.disconnect()
    await db.destroy().catch(() => {})
  }
})

describe('docs/api.md', () => {
  const api = doc('api.md')

  it('reads the route tables of both apps', () => {
    expect(tokenRoutes).toContain('POST /auth/login')
    expect(tokenRoutes).toContain('GET /.well-known/jwks.json')
    expect(analyticsRoutes).toContain('GET /analytics/events')
    expect(analyticsRoutes).toContain('GET /health/ready')
  })

  it('documents every route either service registers', () => {
    const missing = [...new Set([...tokenRoutes, ...analyticsRoutes])].filter((r) => !mentions(api, r))
    expect(missing, 'routes registered but not documented in docs/api.md (as `METHOD /path`)').toEqual([])
  })

  // Sections whose heading says "Planned" list contract routes that are not implemented yet; everywhere
  // else, a route written as `METHOD /path` must be one the apps register.
  const sections = api.split(/^(?=#{2,3} )/m)
  const planned = sections.filter((s) => /^#{2,3} .*Planned/.test(s)).join('\n')
  const implemented = sections.filter((s) => !/^#{2,3} .*Planned/.test(s)).join('\n')
  const routeLiterals = (text: string) =>
    [...text.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`\s?]*)(\?[^`]*)?`/g)].map((m) => ({
      route: `${m[1]} ${m[2]}`,
      query: m[3] !== undefined,
    }))

  it('documents, outside "Planned", only routes that exist', () => {
    const registered = new Set([...tokenRoutes, ...analyticsRoutes])
    const ghosts = routeLiterals(implemented)
      .map((r) => r.route)
      .filter((r) => !registered.has(r))
    expect([...new Set(ghosts)], 'routes docs/api.md describes that neither app registers').toEqual([])
  })

  it('lists as planned only routes that do not exist yet', () => {
    const registered = new Set([...tokenRoutes, ...analyticsRoutes])
    const landed = routeLiterals(planned)
      .filter((r) => !r.query && registered.has(r.route))
      .map((r) => r.route)
    expect(landed, 'registered routes still listed as planned in docs/api.md').toEqual([])
  })

  it("lists, in each route's row, every error code its OpenAPI responses declare", () => {
    const codes = new Set(Object.keys(ERRORS))
    const lines = api.split('\n')
    // Route rows: `| \`METHOD /path\` | … |`. "as `METHOD /path`" and "as above" take that row's codes too.
    const rows = new Map<string, { line: string; previous: string | undefined }>()
    let previous: string | undefined
    for (const line of lines) {
      const m = /^\| `([A-Z]+ \/[^`\s]*)` \|/.exec(line)
      if (!m) {
        if (!line.startsWith('|')) previous = undefined
        continue
      }
      rows.set(m[1]!, { line, previous })
      previous = m[1]
    }
    const rowCodes = (route: string, seen = new Set<string>()): Set<string> => {
      const row = rows.get(route)
      if (!row || seen.has(route)) return new Set()
      seen.add(route)
      const found = new Set(
        [...row.line.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!).filter((c) => codes.has(c)),
      )
      for (const ref of row.line.matchAll(/as `([A-Z]+ \/[^`\s]*)`/g))
        for (const c of rowCodes(ref[1]!, seen)) found.add(c)
      if (/\bas above\b/.test(row.line) && row.previous)
        for (const c of rowCodes(row.previous, seen)) found.add(c)
      return found
    }
    // The analytics API states the codes all its routes share once, above its table.
    const shared = /Every analytics route can answer ([^\n]*\n[^\n]*\n?[^\n]*)/.exec(api)?.[1] ?? ''
    const analyticsShared = [...shared.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!).filter((c) => codes.has(c))
    const missing: string[] = []
    for (const [route, declared] of declaredCodes) {
      const documented = rowCodes(route)
      if (route.includes(' /analytics')) for (const c of analyticsShared) documented.add(c)
      for (const code of declared) if (!documented.has(code)) missing.push(`${route}: ${code}`)
    }
    expect(
      missing,
      'codes a route declares in its OpenAPI responses but its row in docs/api.md omits',
    ).toEqual([])
  })

  it('documents every error code with its status', () => {
    const rows = api.split('\n')
    const missing = Object.entries(ERRORS).filter(
      ([code, status]) => !rows.some((row) => row.startsWith(`| ${status} | \`${code}\` |`)),
    )
    expect(
      missing.map(([code]) => code),
      'error codes of packages/http/src/errors.ts without a `| status | `CODE` |` row in docs/api.md',
    ).toEqual([])
  })
})

describe('docs/events.md', () => {
  it('documents every event type', () => {
    const events = doc('events.md')
    const missing = [...SESSION_EVENT_TYPES, 'risk.alert'].filter((t) => !mentions(events, t))
    expect(missing, 'event types not documented in docs/events.md').toEqual([])
  })

  it("names every field of each type's data in that type's row", () => {
    const rows = doc('events.md').split('\n')
    const missing = SESSION_EVENT_TYPES.flatMap((type) => {
      const row = rows.find((r) => r.startsWith(`| \`${type}\` |`)) ?? ''
      const fields = Object.keys((EventData[type] as { properties: Record<string, unknown> }).properties)
      return fields.filter((f) => !row.includes(f)).map((f) => `${type}: data.${f}`)
    })
    expect(missing, 'data fields missing from their row of docs/events.md').toEqual([])
  })
})

describe('docs/configuration.md', () => {
  it('documents every environment variable of both services', () => {
    const configuration = doc('configuration.md')
    const keys = [...new Set([...Object.keys(TokenConfigSpec), ...Object.keys(AnalyticsConfigSpec)])]
    const rows = configuration.split('\n')
    const missing = keys.filter((k) => !rows.some((r) => r.startsWith(`| \`${k}\` |`)))
    expect(
      missing,
      'variables read by a service without a `| `NAME` | default | meaning |` row in docs/configuration.md',
    ).toEqual([])
  })
})

/** Paths that start at the repository's root. */
const ROOTED = /^(services|packages|infra|bench|docs|\.ci)\//
/** A file name with an extension the repository holds, or a folder path (two names or more) ending in `/`. */
const PATH_LIKE =
  /^[\w@.-]+(\/[\w@.-]+)*\.(ts|tsx|lua|md|json|ya?ml|sh|css|html|conf|sql)$|^[\w.-]+(\/[\w.-]+)+\/$/

/** The file paths in one line's backticked spans (a trailing `:12-20` line range or `(name)` is not part of it). */
export function backtickedPaths(line: string): string[] {
  return [...line.matchAll(/`([^`\s]+)`/g)]
    .map((m) => m[1]!.replace(/[),.;]+$/, '').replace(/:\d+(-\d+)?$/, ''))
    .filter((p) => PATH_LIKE.test(p))
}

function isIgnored(path: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '-q', path], { cwd: ROOT })
    return true
  } catch {
    return false
  }
}

describe('references to documents', () => {
  // Tracked files plus new ones not yet committed (ignored files excluded).
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(ROOT, f)))
  const texts = files
    .filter((f) =>
      /\.(ts|js|mjs|cjs|md|json|yaml|yml|sh|lua|conf|toml|txt|example)$|(^|\/)(run|Dockerfile)$/.test(f),
    )
    .filter((f) => !f.endsWith('pnpm-lock.yaml'))
  const present = new Set(files.map((f) => basename(f)))

  it('every `*.md` document a file mentions is in the repository', () => {
    const missing: string[] = []
    for (const file of texts) {
      const text = readFileSync(join(ROOT, file), 'utf8')
      for (const m of text.matchAll(/(?<![\w/.-])((?:[\w.-]+\/)*[\w-][\w.-]*\.md)\b/g)) {
        const name = basename(m[1]!)
        if (!present.has(name)) missing.push(`${file}: ${m[1]}`)
      }
    }
    expect(missing, 'mentions of documents that are not in the repository').toEqual([])
  })

  // `services/token/src/domain/lockout.ts`, `storage/relay-lease.ts`, `take-login-attempt-2.lua`: a path from
  // the repository's root names a file or folder that exists (or an ignored output, such as test screenshots);
  // a shorter path or a bare file name is the end of some file's path. URL paths (`/console/…`) are not files.
  it('every file path a document names in backticks exists', () => {
    const docs = texts.filter((f) => f.endsWith('.md'))
    const broken: string[] = []
    for (const file of docs) {
      for (const [i, line] of readFileSync(join(ROOT, file), 'utf8').split('\n').entries()) {
        for (const path of backtickedPaths(line)) {
          const found = ROOTED.test(path)
            ? existsSync(join(ROOT, path)) || isIgnored(path)
            : files.some((f) => f === path || f.endsWith(`/${path}`) || f.includes(`/${path}`))
          if (!found) broken.push(`${file}:${i + 1}: ${path}`)
        }
      }
    }
    expect(broken, 'paths named in documents that do not exist').toEqual([])
  })

  it('every relative link of a markdown file resolves', () => {
    const broken: string[] = []
    for (const file of texts.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(ROOT, file), 'utf8')
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!.split('#')[0]!
        if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue
        if (!existsSync(resolve(ROOT, dirname(file), target))) broken.push(`${file}: ${m[1]}`)
      }
    }
    expect(broken, 'markdown links to files that do not exist').toEqual([])
  })
})
