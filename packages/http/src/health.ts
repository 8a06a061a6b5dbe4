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

/**
 * The probe routes: `live` answers while the process runs; `ready` is 503 while any dependency check fails.
 * Exported for the deployment manifests' check (`pnpm check:infra`), which compares every probe with these.
 */
export const HEALTH_PATHS = { live: '/health/live', ready: '/health/ready' } as const

export const healthPlugin = fp(
  async (app: FastifyInstance, opts: { checks: Record<string, ReadinessCheck>; timeoutMs?: number }) => {
    const timeoutMs = opts.timeoutMs ?? 1000
    app.get(HEALTH_PATHS.live, { schema: { hide: true } }, async () => ({ status: 'ok' }))
    app.get(HEALTH_PATHS.ready, { schema: { hide: true } }, async (_request, reply) => {
      const names = Object.keys(opts.checks)
      const results = await Promise.all(names.map((n) => withDeadline(opts.checks[n]!, timeoutMs)))
      const checks = Object.fromEntries(names.map((n, i) => [n, results[i] ? 'ok' : 'unavailable']))
      const ready = results.every(Boolean)
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks })
    })
  },
  { name: 'africhain-health', fastify: '5.x' },
)
