export { type Backoff, backoff, backoffDelay, sleep } from './backoff.ts'
export { type Consumer, createConsumer, type StreamEntry } from './consumer.ts'
export type { BusLogger } from './logger.ts'
export {
  createOutboxRelay,
  type OutboxEntry,
  type OutboxRelay,
  type OutboxRelayOptions,
  type OutboxStore,
  type RelayLease,
} from './outbox-relay.ts'
export { dedupeWindowMs, type RetainedOutbox, retainedOutbox } from './outbox-retention.ts'
export { publish } from './publish.ts'
export { connectInBackground, createRedisClient, type RedisClient } from './redis-client.ts'
export {
  compareStreamIds,
  idOfSortableStreamId,
  maxStreamId,
  parseStreamId,
  sortableStreamId,
} from './stream-id.ts'
export { readGroupInfo, readStreamInfo } from './stream-info.ts'
