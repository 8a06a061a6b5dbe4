export { type BuildOptions, buildApp } from './app.ts'
export { loadTokenConfig, type TokenConfig, TokenConfigSpec } from './config.ts'
