export * from './load.ts'
export * from './parsers.ts'
export { redactSecrets } from './redact.ts'
export * from './startup-failure.ts'
