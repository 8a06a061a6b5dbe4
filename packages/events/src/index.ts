export * from './codec.ts'
export * from './schemas.ts'
