import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export type ReadinessCheck = () => Promise<unknown>

async function withDeadline(check: ReadinessCheck, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), ms)
      }),
    ])
    return true
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}

/** `/health/live` answers while the process runs; `/health/ready` is 503 while any dependency check fails. */
export const healthPlugin = fp(
  async (app: FastifyInstance, opts: { checks: Record<string, ReadinessCheck>; timeoutMs?: number }) => {
    const timeoutMs = opts.timeoutMs ?? 1000
    app.get('/health/live', { schema: { hide: true } }, async () => ({ status: 'ok' }))
    app.get('/health/ready', { schema: { hide: true } }, async (_request, reply) => {
      const names = Object.keys(opts.checks)
      const results = await Promise.all(names.map((n) => withDeadline(opts.checks[n]!, timeoutMs)))
      const checks = Object.fromEntries(names.map((n, i) => [n, results[i] ? 'ok' : 'unavailable']))
      const ready = results.every(Boolean)
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks })
    })
  },
  { name: 'africhain-health', fastify: '5.x' },
)
