import type { Redis } from 'ioredis'
import { backoff, sleep } from './backoff.ts'
import { createBatchRunner, message } from './batch-runner.ts'
import type { BatchSource, Consumer, ConsumerOptions } from './consumer-types.ts'
import { groupCommands, type RawEntry } from './group-commands.ts'
import { isNoGroupError } from './keys.ts'
import { silentLogger } from './logger.ts'
import { readGroupInfo } from './stream-info.ts'

export type { BatchSource, Consumer, ConsumerHooks, ConsumerOptions, StreamEntry } from './consumer-types.ts'

/**
 * A Redis Streams consumer-group runner with at-least-once delivery made safe by an idempotent handler:
 * - on start it re-reads its own pending entries (a restart after a crash), then new ones (`>`);
 * - every `claimIntervalMs` it takes over entries other consumers left idle (`XAUTOCLAIM`);
 * - it acknowledges only after the handler resolved (the handler commits first);
 * - a failing batch is split to find the failing entries; one that failed `maxDeliveries` times, or that
 *   does not decode, goes to the dead-letter stream with the reason and is acknowledged (batch-runner.ts);
 * - when the group vanished (Redis lost the stream) it is created again (`NOGROUP`), reading from `0` or
 *   `replayMs` back whatever `startId` is, so entries the relay published again are not skipped.
 */
export function createConsumer<T>(opts: ConsumerOptions<T>): Consumer {
  const blockMs = opts.blockMs ?? 5000
  const batchSize = opts.batchSize ?? 100
  const lingerMs = opts.lingerMs ?? 0
  const claimIdleMs = opts.claimIdleMs ?? 60_000
  const claimIntervalMs = opts.claimIntervalMs ?? Math.max(Math.floor(claimIdleMs / 2), 100)
  const retry = { baseMs: opts.retryDelayMs ?? 100, maxMs: opts.maxRetryDelayMs ?? 5000 }
  const hooks = opts.hooks ?? {}
  // `part`, not `component`: the caller's logger often names its component already (`risk-alerts`), and
  // pino would print both under the same key.
  const log = (opts.logger ?? silentLogger).child({
    part: 'stream-consumer',
    stream: opts.stream,
    group: opts.group,
    consumer: opts.consumer,
  })
  const { redis, stream, group, consumer } = opts

  const abort = new AbortController()
  const signal = abort.signal
  let blocking: Redis | undefined
  let blockedRead = false
  let started: Promise<void> | undefined
  let loop: Promise<void> | undefined
  let stopping: Promise<void> | undefined

  const onExternalAbort = () => void stop()
  opts.signal?.addEventListener('abort', onExternalAbort, { once: true })

  const commands = groupCommands({ redis, stream, group, consumer, batchSize })
  const runner = createBatchRunner<T>({
    handler: opts.handler,
    decode: opts.decode,
    commands,
    maxDeliveries: opts.maxDeliveries ?? 5,
    deadLetterStream: opts.deadLetterStream ?? `${opts.stream}:dead`,
    deadLetterMaxLen: opts.deadLetterMaxLen ?? 100_000,
    isTransient: opts.isTransient ?? (() => false),
    retry,
    hooks,
    log,
    signal,
  })

  /**
   * A group that went missing lost it with its stream (or was destroyed), and what the relay published again
   * may already be there: it is read from `replayMs` ago (stream ids are XADD times), or from `0`.
   */
  const missingStartId = () =>
    opts.replayMs === undefined ? '0' : `${Math.max(0, Date.now() - opts.replayMs)}-0`

  /** At start, a missing group is a lost one when the owner's records say it ran before (asked only then). */
  async function lostAtStart(): Promise<boolean> {
    if (!opts.ranBefore || (await readGroupInfo(redis, stream, group)) !== null) return false
    return opts.ranBefore()
  }

  async function ensureGroup(reason: 'start' | 'missing'): Promise<void> {
    const lost = reason === 'missing' || (await lostAtStart())
    const startId = lost ? missingStartId() : (opts.startId ?? '0')
    if (!(await commands.createGroup(startId))) return
    log.info({ reason }, 'consumer group created')
    await hooks.onGroupCreated?.({ reason })
  }

  async function claim(cursor: string): Promise<{ next: string; entries: RawEntry[] }> {
    const { next, entries, deleted } = await commands.claim(cursor, claimIdleMs)
    for (const id of deleted)
      await runner.deadLetter({ id, fields: null, deliveries: 0 }, 'deleted before processing')
    if (entries.length > 0) log.info({ count: entries.length }, 'claimed idle entries of another consumer')
    return { next, entries }
  }

  async function readNew(timeoutMs: number): Promise<RawEntry[]> {
    if (signal.aborted) return []
    blockedRead = true
    try {
      return await commands.readNew(blocking!, timeoutMs)
    } finally {
      blockedRead = false
    }
  }

  /**
   * A short read waits up to `lingerMs` (one timer) and takes what arrived meanwhile (one read that does
   * not block), so the wait never exceeds the bound. Entries stay in stream order; the first ones are
   * already pending for this consumer, so a failing second read loses nothing (the loop re-reads its
   * pending list). Stopping ends the wait at once and the batch is handled as it is.
   */
  async function linger(entries: RawEntry[]): Promise<RawEntry[]> {
    if (lingerMs <= 0 || entries.length >= batchSize) return entries
    await sleep(lingerMs, signal)
    if (signal.aborted) return entries
    return entries.concat(await commands.readWaiting(batchSize - entries.length))
  }

  async function run(groupReady: boolean): Promise<void> {
    let backlog = true // own pending entries first: what a previous run of this consumer left unacknowledged
    let claimCursor = '0-0'
    let nextClaimAt = Date.now() + claimIntervalMs
    let errors = 0
    while (!signal.aborted) {
      try {
        if (!groupReady) {
          await ensureGroup('start')
          groupReady = true
        }
        let entries: RawEntry[]
        let source: BatchSource
        if (backlog) {
          entries = await commands.readPending()
          source = 'pending'
          if (entries.length === 0) {
            backlog = false
            continue
          }
        } else if (Date.now() >= nextClaimAt) {
          const claimed = await claim(claimCursor)
          claimCursor = claimed.next
          if (claimCursor === '0-0') nextClaimAt = Date.now() + claimIntervalMs
          entries = claimed.entries
          source = 'claimed'
          if (entries.length === 0) continue
        } else {
          entries = await readNew(Math.min(blockMs, nextClaimAt - Date.now()))
          source = 'new'
          if (entries.length === 0) continue
          entries = await linger(entries)
        }
        const complete = await runner.process(entries, source)
        errors = 0
        if (!complete) {
          backlog = true
          await sleep(retry.baseMs, signal)
        }
      } catch (caught) {
        if (signal.aborted) break
        backlog = true
        let err = caught
        if (isNoGroupError(err)) {
          log.warn({}, 'consumer group is gone (the stream vanished?); creating it again')
          try {
            await ensureGroup('missing')
            continue
          } catch (createErr) {
            err = createErr
          }
        }
        errors++
        hooks.onError?.(err)
        log.error({ err: message(err), errors }, 'stream consumer error; backing off')
        await backoff(errors, retry, signal)
      }
    }
  }

  function start(): Promise<void> {
    if (signal.aborted) return Promise.reject(new Error('consumer was stopped; create a new one'))
    if (!started) {
      started = (async () => {
        const parentTimeout = redis.options.commandTimeout
        blocking = redis.duplicate(parentTimeout ? { commandTimeout: parentTimeout + blockMs } : {})
        blocking.on('error', (err) => log.debug({ err: message(err) }, 'blocking connection error'))
        // A lazy parent makes a lazy duplicate: connect now, or the first read fails without an offline queue.
        if (blocking.status === 'wait') await blocking.connect().catch(() => {})
        // Redis may be down at start: then the loop keeps trying to create the group, with backoff.
        const groupReady = await ensureGroup('start').then(
          () => true,
          (err) => {
            log.error({ err: message(err) }, 'cannot create the consumer group yet; retrying')
            return false
          },
        )
        loop = run(groupReady)
        log.info({}, 'stream consumer started')
      })()
    }
    return started
  }

  function stop(): Promise<void> {
    if (!stopping) {
      stopping = (async () => {
        abort.abort()
        opts.signal?.removeEventListener('abort', onExternalAbort)
        // A blocking read holds no work: cut it short. An entry delivered at that instant stays pending
        // for this consumer name and is read again on restart, or claimed by another consumer.
        if (blockedRead) blocking?.disconnect()
        await started?.catch(() => {})
        await loop
        if (blocking && blocking.status !== 'end') await blocking.quit().catch(() => blocking?.disconnect())
        log.info({}, 'stream consumer stopped')
      })()
    }
    return stopping
  }

  return {
    start,
    stop,
    get running() {
      return loop !== undefined && !signal.aborted
    },
  }
}
