export type { TokenPair } from '@africhain/contract'
export { type BuildOptions, buildApp } from './app.ts'
export { loadTokenConfig, type TokenConfig, TokenConfigSpec } from './config.ts'
