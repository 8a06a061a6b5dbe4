import Fastify from 'fastify'
import { describe, expect, it, vi } from 'vitest'
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
