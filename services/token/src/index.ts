// The token service's public entry for code outside it (the SDK's tests, benchmarks, infra checks).
export type { TokenPair } from '@africhain/contract'
export { type BuildOptions, buildApp } from './app.ts'
export {
  loadTokenConfig,
  probePortOf,
  SHUTDOWN_DEADLINE_MS,
  type TokenConfig,
  TokenConfigSpec,
} from './config.ts'
