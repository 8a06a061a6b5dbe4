import { startupFailure } from '@africhain/config'
import { listenProblem, shutdownOnSignals } from '@africhain/http'
import { buildApp } from './app.ts'
import { loadTokenConfig, SHUTDOWN_DEADLINE_MS, type TokenConfig } from './config.ts'

// Loads config, listens, and closes with grace on SIGTERM/SIGINT: in-flight requests finish, the relay stops.
// A start that cannot go on (bad config, database unreachable, port taken, a schema it refuses) prints one
// line naming the cause and exits 1: no stack trace for the operator to read through.
const SERVICE = 'token service'
let config: TokenConfig | undefined
function fail(err: unknown): never {
  console.error(
    startupFailure(SERVICE, err, {
      ...(config ? { databaseUrl: config.DATABASE_URL, host: config.HOST, port: config.TOKEN_PORT } : {}),
    }),
  )
  process.exit(1)
}

try {
  config = loadTokenConfig()
} catch (err) {
  fail(err)
}
const taken = await listenProblem(config.HOST, config.TOKEN_PORT)
if (taken) fail(taken)
const app = await buildApp(config).catch(fail)
const shutdown = shutdownOnSignals({
  log: app.log,
  deadlineMs: SHUTDOWN_DEADLINE_MS,
  close: () => app.close(),
})
try {
  await app.listen({ host: config.HOST, port: config.TOKEN_PORT })
} catch (err) {
  // Built but not listening: stop the background work (relay, consumers) before leaving.
  shutdown.begin()
  const force = setTimeout(() => fail(err), 5_000)
  await app.close().catch(() => {})
  clearTimeout(force)
  fail(err)
}
// `pnpm start` waits for this, not for whatever answers on the port (it may be another instance).
process.send?.({ ready: 'token', port: config.TOKEN_PORT }, () => process.disconnect?.())
