import { type RawBuilder, sql } from 'kysely'

/** `VALUES(col)` in an ON DUPLICATE KEY UPDATE: the value the insert proposed (MySQL, MariaDB and TiDB). */
export function proposed<T = unknown>(column: string): RawBuilder<T> {
  return sql<T>`values(${sql.ref(column)})`
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const DEADLOCK = 1213

/** InnoDB picked this transaction as a deadlock victim: it rolled back and can simply run again. */
export function isDeadlock(err: unknown): boolean {
  return (err as { errno?: number })?.errno === DEADLOCK
}

/** Runs a whole transaction again when it was chosen as a deadlock victim (a few times, with jitter). */
export async function retryOnDeadlock<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run()
    } catch (err) {
      if (!isDeadlock(err) || attempt >= attempts) throw err
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt))
    }
  }
}
