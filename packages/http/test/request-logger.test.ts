import Fastify from 'fastify'
import type { Logger } from 'pino'
import { describe, expect, it, vi } from 'vitest'
import { LineBuffer } from '../src/logger.ts'
import { serverOptions } from '../src/server-options.ts'

function app() {
  const lines: Record<string, unknown>[] = []
  const server = Fastify(
    serverOptions({
      logLevel: 'info',
      logStream: { write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) },
      trustProxy: false,
    }),
  )
  server.get('/quiet', async () => ({ ok: true }))
  server.get('/logs', async (request) => {
    request.log.info({ token: 'eyJsecret', n: 1 }, 'from the route')
    request.log.debug('below the level')
    return { id: request.id }
  })
  return { server, lines }
}

describe('request.log (made on first use)', () => {
  it('is only made for a request that logs through it', async () => {
    const { server } = app()
    await server.ready()
    const child = vi.spyOn(server.log, 'child')
    expect((await server.inject('/quiet')).statusCode).toBe(200)
    expect(child).not.toHaveBeenCalled()
    expect((await server.inject('/logs')).statusCode).toBe(200)
    expect(child).toHaveBeenCalledTimes(1)
  })

  it('writes the lines the eager child wrote: the request id bound, redaction and the level kept', async () => {
    const { server, lines } = app()
    const res = await server.inject('/logs')
    const { id } = res.json() as { id: string }
    const line = lines.find((l) => l.msg === 'from the route')
    expect(line).toMatchObject({ reqId: id, token: '[redacted]', n: 1, level: 30 })
    expect(lines.some((l) => l.msg === 'below the level')).toBe(false)
  })
})

describe('request.log has the rest of pino’s logger that plugins call', () => {
  /** A server whose one route runs `use` on request.log and answers what it returns. */
  async function ask(use: (log: Logger) => unknown, stream?: { write(line: string): void }) {
    const lines: Record<string, unknown>[] = []
    const server = Fastify(
      serverOptions({
        logLevel: 'info',
        logStream: stream ?? { write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) },
        trustProxy: false,
      }),
    )
    server.get('/', async (request) => ({ id: request.id, value: await use(request.log as Logger) }))
    const res = await server.inject('/')
    await server.close()
    expect(res.statusCode).toBe(200)
    return { ...(res.json() as { id: string; value: unknown }), lines }
  }

  it('isLevelEnabled answers for the request’s level', async () => {
    const { value } = await ask((log) => ['warn', 'info', 'debug'].map((l) => log.isLevelEnabled(l)))
    expect(value).toEqual([true, true, false])
  })

  it('bindings returns the request id; setBindings adds to the lines that follow', async () => {
    const { id, value, lines } = await ask((log) => {
      const before = log.bindings()
      log.setBindings({ tenant: 'coop-7' })
      log.info('after')
      return before
    })
    expect(value).toEqual({ reqId: id })
    expect(lines.find((l) => l.msg === 'after')).toMatchObject({ reqId: id, tenant: 'coop-7' })
  })

  it('flush hands what the destination holds to its output, then calls back', async () => {
    const out: string[] = []
    const buffer = new LineBuffer({ write: (text) => out.push(text) }, 1 << 20)
    const { value } = await ask(
      (log) =>
        new Promise((resolve, reject) => {
          log.info('held')
          const held = out.length
          log.flush((err) =>
            err ? reject(err) : resolve({ held, written: out.join('').includes('"held"') }),
          )
        }),
      buffer,
    )
    expect(value).toEqual({ held: 0, written: true })
  })

  it('levelVal, levels and msgPrefix are the child’s', async () => {
    const { value } = await ask((log) => ({
      levelVal: log.levelVal,
      info: log.levels.values.info,
      msgPrefix: log.msgPrefix ?? null,
    }))
    expect(value).toEqual({ levelVal: 30, info: 30, msgPrefix: null })
  })
})
