import { backoff } from './backoff.ts'
import type { BatchSource, ConsumerHooks, ConsumerOptions, StreamEntry } from './consumer-types.ts'
import type { GroupCommands, RawEntry } from './group-commands.ts'
import type { BusLogger } from './logger.ts'

/** A decoded entry and the fields it came from (kept for the dead letter). */
type Item<T> = { entry: StreamEntry<T>; fields: string[] }

export type BatchRunnerContext<T> = {
  handler: ConsumerOptions<T>['handler']
  decode: ConsumerOptions<T>['decode']
  commands: GroupCommands
  maxDeliveries: number
  deadLetterStream: string
  deadLetterMaxLen: number
  isTransient: (err: unknown) => boolean
  retry: { baseMs: number; maxMs: number }
  hooks: ConsumerHooks
  log: BusLogger
  signal: AbortSignal
}

export type BatchRunner = {
  /** Sorts entries into dead letters and a batch for the handler. Returns false when something stayed pending. */
  process(entries: RawEntry[], source: BatchSource): Promise<boolean>
  deadLetter(entry: RawEntry, reason: string): Promise<void>
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** What a consumer does with the entries it read: decode, handle, acknowledge, split, dead-letter. */
export function createBatchRunner<T>(c: BatchRunnerContext<T>): BatchRunner {
  const { commands, hooks, log, signal, isTransient, maxDeliveries } = c
  /** Last handler error per entry id, so the dead letter can say why. */
  const lastErrors = new Map<string, string>()

  async function deadLetter(entry: RawEntry, reason: string): Promise<void> {
    await commands.deadLetter(entry, reason, c.deadLetterStream, c.deadLetterMaxLen)
    lastErrors.delete(entry.id)
    log.warn({ id: entry.id, reason, deliveries: entry.deliveries }, 'entry dead-lettered')
    hooks.onDeadLetter?.({ id: entry.id, reason, deliveries: entry.deliveries })
  }

  /** The handler on `batch`, transient errors retried in place; resolves with the last failure, if any. */
  async function attempt(batch: StreamEntry<T>[]): Promise<unknown> {
    for (let n = 0; !signal.aborted || n === 0; n++) {
      try {
        await c.handler(batch, { signal })
        return undefined
      } catch (err) {
        if (!isTransient(err)) return err
        hooks.onError?.(err)
        log.warn(
          { err: message(err), attempt: n, size: batch.length },
          'batch failed on a transient error; retrying',
        )
        await backoff(n, c.retry, signal)
        if (signal.aborted) return err
      }
    }
    return undefined
  }

  /**
   * Runs the handler on `items` and acknowledges them. Transient errors are retried in place. Any other
   * failure splits the batch to find the failing entries; a failing single entry stays pending (it will
   * be read again) until it has failed `maxDeliveries` times. Returns false when something stayed pending.
   */
  async function handle(items: Item<T>[], source: BatchSource): Promise<boolean> {
    const begun = performance.now()
    const batch = items.map((i) => i.entry)
    const failure = await attempt(batch)
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

  async function process(entries: RawEntry[], source: BatchSource): Promise<boolean> {
    const items: Item<T>[] = []
    for (const entry of entries) {
      if (entry.fields === null) {
        await deadLetter(entry, 'deleted from the stream before it was processed')
        continue
      }
      const decoded = c.decode(entry.fields)
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

  return { process, deadLetter }
}
