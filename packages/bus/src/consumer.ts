import type { Decoded } from '@africhain/events'
import type { Redis } from 'ioredis'
import { groupCommands, type RawEntry } from './group-commands.ts'
import { isNoGroupError } from './keys.ts'
import { type BusLogger, silentLogger } from './logger.ts'

/** One decoded stream entry handed to the handler. `deliveries` counts this delivery (1 on first read). */
export type StreamEntry<T> = { id: string; event: T; deliveries: number }

export type BatchSource = 'new' | 'pending' | 'claimed'

export type ConsumerHooks = {
  /** After a batch was handled and acknowledged. */
  onBatch?: (info: { size: number; durationMs: number; source: BatchSource }) => void
  /** After an entry was written to the dead-letter stream and acknowledged. */
  onDeadLetter?: (info: { id: string; reason: string; deliveries: number }) => void
  /**
   * After this consumer created the group (at start, or because it vanished with its stream). Awaited
   * before anything is read, so the owner can record that entries it never saw may be gone.
   */
  onGroupCreated?: (info: { reason: 'start' | 'missing' }) => Promise<void> | void
  /** A read, ack or handler error (also logged). */
  onError?: (err: unknown) => void
}

export type ConsumerOptions<T> = {
  /** Commands go through this client; the blocking read gets its own connection (`redis.duplicate()`). */
  redis: Redis
  stream: string
  group: string
  /** Unique per process (e.g. hostname-pid): pending entries belong to a consumer name. */
  consumer: string
  /**
   * Handles a batch; resolving means its effects are committed. Entries are acknowledged only after that.
   * Must be idempotent per entry: an entry may be delivered again after a crash or a claim.
   */
  handler: (batch: StreamEntry<T>[], ctx: { signal: AbortSignal }) => Promise<void>
  /** Validates an entry's fields; an entry that does not decode is dead-lettered at once. */
  decode: (fields: readonly string[]) => Decoded<T>
  batchSize?: number
  /** How long one blocking read waits for new entries. */
  blockMs?: number
  /** Pending entries idle longer than this belong to a dead (or stuck) consumer and are claimed. Keep it above the slowest batch. */
  claimIdleMs?: number
  /** How often to look for such entries. */
  claimIntervalMs?: number
  /** An entry that failed this many deliveries goes to the dead-letter stream. */
  maxDeliveries?: number
  deadLetterStream?: string
  deadLetterMaxLen?: number
  /**
   * Errors for which the batch is retried in place (with backoff, without re-reading, so the delivery
   * count does not grow): a database outage must not dead-letter healthy entries.
   */
  isTransient?: (err: unknown) => boolean
  /** Where group creation starts reading: `0` consumes the stream's whole retained history. */
  startId?: string
  retryDelayMs?: number
  maxRetryDelayMs?: number
  logger?: BusLogger
  /** Aborting it stops the consumer like `stop()`. */
  signal?: AbortSignal
  hooks?: ConsumerHooks
}

export type Consumer = {
  /** Creates the group when missing, then consumes in the background. Calling it again is a no-op. */
  start(): Promise<void>
  /** Stops reading, lets the in-flight batch finish (and be acknowledged), closes the blocking connection. */
  stop(): Promise<void>
  readonly running: boolean
}

/** A decoded entry and the fields it came from (kept for the dead letter). */
type Item<T> = { entry: StreamEntry<T>; fields: string[] }

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * A Redis Streams consumer-group runner with at-least-once delivery made safe by an idempotent handler:
 * - on start it re-reads its own pending entries (a restart after a crash), then new ones (`>`);
 * - every `claimIntervalMs` it takes over entries other consumers left idle (`XAUTOCLAIM`);
 * - it acknowledges only after the handler resolved (the handler commits first);
 * - a failing batch is split to find the failing entries; one that failed `maxDeliveries` times, or that
 *   does not decode, goes to the dead-letter stream with the reason and is acknowledged;
 * - when the group vanished (Redis lost the stream) it is created again (`NOGROUP`).
 */
export function createConsumer<T>(opts: ConsumerOptions<T>): Consumer {
  const batchSize = opts.batchSize ?? 100
  const blockMs = opts.blockMs ?? 5000
  const claimIdleMs = opts.claimIdleMs ?? 60_000
  const claimIntervalMs = opts.claimIntervalMs ?? Math.max(Math.floor(claimIdleMs / 2), 100)
  const maxDeliveries = opts.maxDeliveries ?? 5
  const deadLetterStream = opts.deadLetterStream ?? `${opts.stream}:dead`
  const deadLetterMaxLen = opts.deadLetterMaxLen ?? 100_000
  const isTransient = opts.isTransient ?? (() => false)
  const retryDelayMs = opts.retryDelayMs ?? 100
  const maxRetryDelayMs = opts.maxRetryDelayMs ?? 5000
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
  /** Last handler error per entry id, so the dead letter can say why. */
  const lastErrors = new Map<string, string>()
  let blocking: Redis | undefined
  let blockedRead = false
  let started: Promise<void> | undefined
  let loop: Promise<void> | undefined
  let stopping: Promise<void> | undefined

  const onExternalAbort = () => void stop()
  opts.signal?.addEventListener('abort', onExternalAbort, { once: true })

  const commands = groupCommands({ redis, stream, group, consumer, batchSize })

  async function ensureGroup(reason: 'start' | 'missing'): Promise<void> {
    if (!(await commands.createGroup(opts.startId ?? '0'))) return
    log.info({ reason }, 'consumer group created')
    await hooks.onGroupCreated?.({ reason })
  }

  async function claim(cursor: string): Promise<{ next: string; entries: RawEntry[] }> {
    const { next, entries, deleted } = await commands.claim(cursor, claimIdleMs)
    for (const id of deleted)
      await deadLetter({ id, fields: null, deliveries: 0 }, 'deleted before processing')
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

  async function deadLetter(entry: RawEntry, reason: string): Promise<void> {
    await commands.deadLetter(entry, reason, deadLetterStream, deadLetterMaxLen)
    lastErrors.delete(entry.id)
    log.warn({ id: entry.id, reason, deliveries: entry.deliveries }, 'entry dead-lettered')
    hooks.onDeadLetter?.({ id: entry.id, reason, deliveries: entry.deliveries })
  }

  /**
   * Runs the handler on `batch` and acknowledges it. Transient errors are retried in place. Any other
   * failure splits the batch to find the failing entries; a failing single entry stays pending (it will
   * be read again) until it has failed `maxDeliveries` times. Returns false when something stayed pending.
   */
  async function handle(items: Item<T>[], source: BatchSource): Promise<boolean> {
    const begun = performance.now()
    const batch = items.map((i) => i.entry)
    let failure: unknown
    for (let attempt = 0; !signal.aborted || attempt === 0; attempt++) {
      try {
        await opts.handler(batch, { signal })
        failure = undefined
        break
      } catch (err) {
        failure = err
        if (!isTransient(err)) break
        hooks.onError?.(err)
        log.warn(
          { err: message(err), attempt, size: batch.length },
          'batch failed on a transient error; retrying',
        )
        await sleep(Math.min(retryDelayMs * 2 ** attempt, maxRetryDelayMs), signal)
      }
    }
    if (failure === undefined) {
      await commands.ack(batch.map((e) => e.id))
      for (const e of batch) lastErrors.delete(e.id)
      hooks.onBatch?.({ size: batch.length, durationMs: performance.now() - begun, source })
      return true
    }
    if (isTransient(failure)) return false // stopping while the dependency is away: leave it pending
    hooks.onError?.(failure)
    if (batch.length > 1) {
      log.warn({ err: message(failure), size: batch.length }, 'batch failed; retrying its entries one by one')
      let allDone = true
      for (const item of items) {
        if (signal.aborted) return false
        if (!(await handle([item], source))) allDone = false
      }
      return allDone
    }
    const { entry, fields } = items[0]!
    const reason = message(failure)
    lastErrors.set(entry.id, reason)
    if (entry.deliveries >= maxDeliveries) {
      await deadLetter(
        { id: entry.id, fields, deliveries: entry.deliveries },
        `failed ${entry.deliveries} deliveries: ${reason}`,
      )
      return true
    }
    log.warn({ id: entry.id, err: reason, deliveries: entry.deliveries }, 'entry failed; it stays pending')
    return false
  }

  /** Sorts entries into dead letters and a batch for the handler. Returns false when something stayed pending. */
  async function process(entries: RawEntry[], source: BatchSource): Promise<boolean> {
    const items: Item<T>[] = []
    for (const entry of entries) {
      if (entry.fields === null) {
        await deadLetter(entry, 'deleted from the stream before it was processed')
        continue
      }
      const decoded = opts.decode(entry.fields)
      if (!decoded.ok) {
        await deadLetter(entry, `undecodable: ${decoded.reason}`)
        continue
      }
      if (entry.deliveries > maxDeliveries) {
        const last = lastErrors.get(entry.id) ?? 'its consumer stopped or died while processing it'
        await deadLetter(entry, `failed ${entry.deliveries - 1} deliveries: ${last}`)
        continue
      }
      items.push({
        entry: { id: entry.id, event: decoded.event, deliveries: entry.deliveries },
        fields: entry.fields,
      })
    }
    if (items.length === 0) return true
    return handle(items, source)
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
        }
        const complete = await process(entries, source)
        errors = 0
        if (!complete) {
          backlog = true
          await sleep(retryDelayMs, signal)
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
        await sleep(Math.min(retryDelayMs * 2 ** Math.min(errors, 16), maxRetryDelayMs), signal)
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
