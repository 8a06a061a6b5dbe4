// `@africhain/db/testing`: helpers for test suites only. Kept off the main entry so no service can ship
// (or call) them; test files import this subpath.
export { testDatabaseUrl } from './test-database.ts'
