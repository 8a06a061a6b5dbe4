import type { TokenStorage } from '../../src/index.ts'

/**
 * Models Chromium's localStorage across tab processes: each tab reads its own cache; its writes
 * reach the other tabs' caches only `lagMs` later. The Web Lock can be granted inside that window.
 */
export function laggingStorage(lagMs: number) {
  const views: Map<string, string>[] = []
  return {
    view(): TokenStorage {
      const cache = new Map<string, string>()
      views.push(cache)
      const publish = (apply: (view: Map<string, string>) => void) => {
        apply(cache)
        for (const other of views) if (other !== cache) setTimeout(() => apply(other), lagMs)
      }
      return {
        get: (key) => cache.get(key),
        set: (key, value) => publish((v) => v.set(key, value)),
        remove: (key) => publish((v) => v.delete(key)),
      }
    },
  }
}
