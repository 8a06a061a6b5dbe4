import { LogLines } from '@africhain/testing'
import { describe, expect, it } from 'vitest'
import { uniqueEmail, useTestApp } from './helpers/app.ts'

// One access line per request at info (method, route, status, duration, request id), health probes and
// metrics scrapes at debug, and no log line with a key twice (pino appends a child's bindings to its
// parent's: a child re-adding `component` printed `"component":"risk-alerts","component":"stream-consumer"`).

type Line = Record<string, unknown> & { msg?: string; level: number }

/** An app of its own logging at `level` into `log` (called in a describe: started and closed with it). */
function capture(level: string) {
  const log = new LogLines()
  const { app } = useTestApp(`access_${level}`, { env: { LOG_LEVEL: level }, build: { logStream: log } })
  return { app, log, raw: log.all, parsed: () => log.all.map((l) => JSON.parse(l) as Line) }
}

/** Top-level keys of a JSON line, in order, duplicates kept (JSON.parse would drop them). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = []
  let depth = 0
  let inString = false
  let token = ''
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (inString) {
      if (c === '\\') token += c + line[++i]!
      else if (c === '"') inString = false
      else token += c
      continue
    }
    if (c === '"') {
      inString = true
      token = ''
    } else if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') depth--
    else if (c === ':' && depth === 1) keys.push(token)
  }
  return keys
}

describe('access log at info', () => {
  const info = capture('info')
  const { app } = info

  it('one line per request with method, route, status, duration and request id', async () => {
    const reg = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { identifier: uniqueEmail(), password: 'long enough password' },
    })
    expect(reg.statusCode).toBe(201)
    await app.inject({ method: 'GET', url: '/auth/sessions?limit=1' })
    await app.inject({ method: 'GET', url: '/no-such-route' })
    await app.inject({ method: 'GET', url: '/health/live' })
    await app.inject({ method: 'GET', url: '/metrics' })

    const requests = info.parsed().filter((l) => l.msg === 'request')
    expect(requests.map((l) => [l.method, l.route, l.url, l.status])).toEqual([
      ['POST', '/auth/register', '/auth/register', 201],
      ['GET', '/auth/sessions', '/auth/sessions', 401],
      ['GET', undefined, '/no-such-route', 404],
    ])
    for (const line of requests) {
      expect(line.level).toBe(30)
      expect(line.reqId).toEqual(expect.any(String))
      expect(line.durationMs).toEqual(expect.any(Number))
    }
    expect(new Set(requests.map((l) => l.reqId)).size).toBe(3)
    // Fastify's own pair of lines is off.
    expect(
      info.parsed().filter((l) => l.msg === 'incoming request' || l.msg === 'request completed'),
    ).toEqual([])
  })

  it('no line repeats a key (the stream consumer under risk-alerts included)', async () => {
    await info.log.seen(
      (l) => l.includes('"part":"stream-consumer"'),
      'the risk-alert consumer to log its start',
    )
    const consumer = info.raw.find((l) => l.includes('"part":"stream-consumer"'))!
    expect(JSON.parse(consumer).component).toBe('risk-alerts')
    const repeated = info.raw.filter((l) => {
      const keys = topLevelKeys(l)
      return new Set(keys).size !== keys.length
    })
    expect(repeated).toEqual([])
  })
})

describe('access log at debug', () => {
  const debug = capture('debug')
  const { app } = debug

  it('health and metrics lines appear at debug, and each request is marked when it arrives', async () => {
    await app.inject({ method: 'GET', url: '/health/live' })
    await app.inject({ method: 'GET', url: '/metrics' })
    await app.inject({ method: 'GET', url: '/auth/me' })
    const lines = debug.parsed()
    const requests = lines.filter((l) => l.msg === 'request')
    expect(requests.map((l) => [l.route, l.level])).toEqual([
      ['/health/live', 20],
      ['/metrics', 20],
      ['/auth/me', 30],
    ])
    const received = lines.filter((l) => l.msg === 'request received')
    expect(received.map((l) => l.reqId)).toEqual(requests.map((l) => l.reqId))
  })
})
