/**
 * The part of the Web Locks API (`navigator.locks`) the SDK uses: `request` runs `callback` while
 * holding the named exclusive lock, across every tab and worker of the origin, and settles with the
 * callback's result. The lock is released when the callback's promise settles.
 */
export type LockManagerLike = {
  request(
    name: string,
    options: { ifAvailable?: boolean },
    callback: (lock: unknown) => Promise<unknown>,
  ): Promise<unknown>
}

/** `navigator.locks` where it exists (browsers, Node ≥ 24.5); undefined in React Native. */
export function defaultLockManager(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator
  return typeof nav?.locks?.request === 'function' ? nav.locks : undefined
}

const BUSY = Symbol('busy')

/**
 * Runs `task` under the cross-context lock, or directly when there is none, telling it whether it
 * had to wait for another holder (then another tab most likely just refreshed). Without a lock
 * manager, two tabs can still refresh at the same moment; the token service's reuse grace window
 * makes both succeed with the same successor, so the fallback is safe, merely not minimal.
 */
export async function withLock<T>(
  locks: LockManagerLike | undefined,
  name: string,
  task: (waited: boolean) => Promise<T>,
): Promise<T> {
  if (!locks) return task(false)
  const first = await locks.request(name, { ifAvailable: true }, (lock) =>
    lock ? task(false) : Promise.resolve(BUSY),
  )
  if (first !== BUSY) return first as T
  return (await locks.request(name, {}, () => task(true))) as T
}
