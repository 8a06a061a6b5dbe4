export { type BuildOptions, buildApp } from './app.ts'
export { loadTokenConfig, type TokenConfig, TokenConfigSpec } from './config.ts'
export type { TokenPair } from './domain/sessions.ts'
