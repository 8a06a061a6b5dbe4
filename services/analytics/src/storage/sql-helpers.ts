export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const DEADLOCK = 1213
const DUPLICATE_KEY = 1062

/** InnoDB picked this transaction as a deadlock victim: it rolled back and can simply run again. */
export function isDeadlock(err: unknown): boolean {
  return (err as { errno?: number })?.errno === DEADLOCK
}

/**
 * Runs a whole transaction again (a few times, with jitter) when it lost a race that a second run wins: a
 * deadlock victim, or a plain INSERT of a row that another transaction created after this one looked
 * for it (the only duplicate key an ingest transaction can hit; every other write is an upsert).
 */
export async function retryOnConflict<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run()
    } catch (err) {
      const errno = (err as { errno?: number })?.errno
      if ((errno !== DEADLOCK && errno !== DUPLICATE_KEY) || attempt >= attempts) throw err
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt))
    }
  }
}
