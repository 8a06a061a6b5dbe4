export * from './load.ts'
export * from './parsers.ts'
