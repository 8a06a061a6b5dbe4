import type { LockManagerLike } from '../../src/index.ts'

/**
 * A tiny stand-in for `navigator.locks`: exclusive locks by name, granted in request order,
 * released when the callback's promise settles. Shared by clients that model tabs of one origin.
 */
export function createLockManager(): LockManagerLike & { grants: number } {
  const tails = new Map<string, Promise<unknown>>()
  const manager = {
    grants: 0,
    request(name: string, callback: (lock: unknown) => Promise<unknown>): Promise<unknown> {
      const previous = tails.get(name) ?? Promise.resolve()
      const run = previous.then(() => {
        manager.grants++
        return callback({ name, mode: 'exclusive' })
      })
      tails.set(
        name,
        run.catch(() => undefined),
      )
      return run
    },
  }
  return manager
}
