// `@africhain/testing`: for test files only (`pnpm lint` refuses it in src/, bench/ and infra/).

export { latch, tally } from './latch.ts'
export { late } from './late.ts'
export { LogLines } from './log-lines.ts'
export { OwnRedis } from './own-redis.ts'
export { waitFor } from './wait-for.ts'
