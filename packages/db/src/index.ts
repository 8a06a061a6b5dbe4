export * from './connect.ts'
export * from './literal.ts'
export * from './migrate.ts'
export * from './test-database.ts'
