import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consolePlugin } from '../src/plugins/console.ts'

// The /console static server on a build directory laid out as Vite writes it, and on a missing one.
const TOKEN_URL = 'https://auth.example.com:8443/'
let dir: string
let built: FastifyInstance
let missing: FastifyInstance

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'console-'))
  await mkdir(join(dir, 'assets'))
  await writeFile(
    join(dir, 'index.html'),
    '<!doctype html><script type="module" src="assets/index-Ab1.js"></script>',
  )
  await writeFile(join(dir, 'assets', 'index-Ab1.js'), 'console.log(1)')
  await writeFile(join(dir, 'assets', 'index-Cd2.css'), 'body{}')
  await writeFile(join(dir, '.sources'), 'hash')
  built = Fastify()
  await built.register(consolePlugin, { dir, tokenUrl: TOKEN_URL })
  missing = Fastify()
  await missing.register(consolePlugin, { dir: join(dir, 'nowhere'), tokenUrl: TOKEN_URL })
})
afterAll(async () => {
  await built?.close()
  await missing?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('GET /console', () => {
  it('redirects the bare path to the directory, where index.html is never cached', async () => {
    const bare = await built.inject({ url: '/console' })
    expect(bare.statusCode).toBe(302)
    expect(bare.headers.location).toBe('/console/')
    const index = await built.inject({ url: '/console/' })
    expect(index.statusCode).toBe(200)
    expect(index.headers['content-type']).toMatch(/^text\/html/)
    expect(index.headers['cache-control']).toBe('no-cache')
    expect(index.body).toContain('assets/index-Ab1.js')
  })

  it('serves hashed assets as immutable with their type', async () => {
    const js = await built.inject({ url: '/console/assets/index-Ab1.js' })
    expect(js.statusCode).toBe(200)
    expect(js.headers['content-type']).toMatch(/^text\/javascript/)
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    const css = await built.inject({ url: '/console/assets/index-Cd2.css' })
    expect(css.headers['content-type']).toMatch(/^text\/css/)
  })

  it('sends a strict CSP and the security headers on every answer', async () => {
    for (const url of [
      '/console/',
      '/console/assets/index-Ab1.js',
      '/console/config.json',
      '/console/assets/x.js',
    ]) {
      const res = await built.inject({ url })
      const csp = String(res.headers['content-security-policy'])
      expect(csp, url).toContain("default-src 'none'")
      expect(csp, url).toContain("script-src 'self';")
      expect(csp, url).toContain("connect-src 'self' https://auth.example.com:8443;")
      expect(csp, url).toContain("frame-ancestors 'none'")
      expect(csp, url).not.toContain('unsafe-inline')
      expect(res.headers['x-content-type-options'], url).toBe('nosniff')
      expect(res.headers['x-frame-options'], url).toBe('DENY')
      expect(res.headers['referrer-policy'], url).toBe('no-referrer')
    }
  })

  it('tells the app where the token service is', async () => {
    const res = await built.inject({ url: '/console/config.json' })
    expect(res.json()).toEqual({ tokenServiceUrl: TOKEN_URL })
    expect(res.headers['cache-control']).toBe('no-cache')
  })

  // TOKEN_SERVICE_URL is the analytics API's own way to the token service (the JWKS); behind a gateway it
  // may carry credentials. config.json is public (no bearer): it published them to anyone who asked.
  it.each([
    ['user and password', 'https://analytics:gw-s3cret@auth.example.com:8443/', 'gw-s3cret'],
    ['a user alone', 'https://gw-s3cret@auth.example.com:8443/', 'gw-s3cret'],
    ['a query key', 'https://auth.example.com:8443/?apikey=gw-s3cret', 'gw-s3cret'],
    ['a fragment', 'https://auth.example.com:8443/#gw-s3cret', 'gw-s3cret'],
  ])('publishes no secret a token-service URL carries (%s)', async (_name, tokenUrl, secret) => {
    const app = Fastify()
    await app.register(consolePlugin, { dir, tokenUrl })
    try {
      for (const url of ['/console/config.json', '/console/', '/console/assets/index-Ab1.js']) {
        const res = await app.inject({ url })
        expect(res.body, url).not.toContain(secret)
        expect(JSON.stringify(res.headers), url).not.toContain(secret)
      }
      const config = await app.inject({ url: '/console/config.json' })
      expect(config.json()).toEqual({ tokenServiceUrl: 'https://auth.example.com:8443/' })
    } finally {
      await app.close()
    }
  })

  it.each([
    ['a dot-dot path', '/console/assets/..%2Findex.html'],
    ['an encoded slash', '/console/assets/..%2F..%2Fetc%2Fpasswd'],
    ['the build stamp', '/console/assets/..%2F.sources'],
    ['a dot file', '/console/assets/.sources'],
    ['an unknown type', '/console/assets/index-Ab1.exe'],
    ['a missing asset', '/console/assets/index-Zz9.js'],
  ])('answers 404 NOT_FOUND for %s, never a file outside assets/', async (_name, url) => {
    const res = await built.inject({ url })
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('NOT_FOUND')
    expect(res.body).not.toContain('hash')
  })

  it.each(['/console/', '/console/assets/index-Ab1.js'])(
    'answers 503 CONSOLE_NOT_BUILT with how to build it when there is no build (%s)',
    async (url) => {
      const res = await missing.inject({ url })
      expect(res.statusCode).toBe(503)
      expect(res.json()).toMatchObject({
        code: 'CONSOLE_NOT_BUILT',
        message: expect.stringContaining('pnpm build'),
      })
    },
  )
})
