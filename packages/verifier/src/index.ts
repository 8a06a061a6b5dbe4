export * from './key-source.ts'
export * from './plugin.ts'
export * from './session-state.ts'
export * from './verifier.ts'
