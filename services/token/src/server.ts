import { ConfigError } from '@africhain/config'
import { SchemaCollationError } from '@africhain/db'
import { buildApp } from './app.ts'
import { loadTokenConfig } from './config.ts'

// Loads config, listens, and closes with grace on SIGTERM/SIGINT: in-flight requests finish, the relay stops.
let config: ReturnType<typeof loadTokenConfig>
try {
  config = loadTokenConfig()
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `token service: ${(err as Error).message}`)
  process.exit(1)
}

const app = await buildApp(config).catch((err: unknown) => {
  // A schema the service refuses to run on: one line for the operator, not a stack trace.
  if (!(err instanceof SchemaCollationError)) throw err
  console.error(`token service: ${err.message}`)
  process.exit(1)
})
let closing = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    const force = setTimeout(() => process.exit(1), 15_000)
    await app.close()
    clearTimeout(force)
    process.exit(0)
  })
}
await app.listen({ host: config.HOST, port: config.TOKEN_PORT })
