import type { LockManagerLike } from '../../src/index.ts'

/**
 * A tiny stand-in for `navigator.locks`: exclusive locks by name, granted in request order,
 * released when the callback's promise settles; `ifAvailable` gets `null` while the lock is taken.
 * Shared by clients that model tabs of one origin.
 */
export function createLockManager(): LockManagerLike & { grants: number; waits: number } {
  const tails = new Map<string, Promise<unknown>>()
  const queued = new Map<string, number>()
  const manager = {
    grants: 0,
    waits: 0,
    request(
      name: string,
      options: { ifAvailable?: boolean },
      callback: (lock: unknown) => Promise<unknown>,
    ): Promise<unknown> {
      const busy = (queued.get(name) ?? 0) > 0
      if (options.ifAvailable && busy) return callback(null)
      if (busy) manager.waits++
      queued.set(name, (queued.get(name) ?? 0) + 1)
      const run = (tails.get(name) ?? Promise.resolve()).then(() => {
        manager.grants++
        return callback({ name, mode: 'exclusive' })
      })
      const tail = run
        .catch(() => undefined)
        .then(() => {
          queued.set(name, (queued.get(name) ?? 1) - 1)
        })
      tails.set(name, tail)
      return run
    },
  }
  return manager
}
