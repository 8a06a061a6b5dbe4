type MaybePromise<T> = T | Promise<T>

/**
 * Where the SDK keeps its session record and device id. Every method may be sync or async.
 * Clients that share one storage (browser tabs sharing localStorage) share one session; the SDK
 * re-reads storage before each use so a tab picks up tokens another tab refreshed.
 * No atomicity is required: cross-tab refresh is serialised by the Web Locks API, not by storage.
 */
export type TokenStorage = {
  /** The stored string, or null/undefined when the key is absent. */
  get(key: string): MaybePromise<string | null | undefined>
  set(key: string, value: string): MaybePromise<void>
  remove(key: string): MaybePromise<void>
}

/** The default: lives as long as the client object. Nothing survives a page reload. */
export function memoryStorage(): TokenStorage {
  const values = new Map<string, string>()
  return {
    get: (key) => values.get(key),
    set: (key, value) => {
      values.set(key, value)
    },
    remove: (key) => {
      values.delete(key)
    },
  }
}

/** The subset of the Web Storage API the adapter uses (`localStorage`, `sessionStorage`). */
export type WebStorageLike = {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

/**
 * Web Storage (localStorage by default). Shared by every tab of the origin, so tabs share one
 * session and coordinate refreshes. Anything readable by page scripts is readable by an XSS
 * payload too: weigh that before keeping a 30-day refresh token here.
 */
export function localStorageAdapter(storage: WebStorageLike = globalThis.localStorage): TokenStorage {
  if (!storage) throw new TypeError('localStorageAdapter: no Web Storage object is available here')
  return {
    get: (key) => storage.getItem(key),
    set: (key, value) => storage.setItem(key, value),
    remove: (key) => storage.removeItem(key),
  }
}

/** React Native's AsyncStorage and look-alikes (expo-secure-store wrappers, MMKV shims). */
export type AsyncStorageLike = {
  getItem(key: string): Promise<string | null | undefined>
  setItem(key: string, value: string): Promise<unknown>
  removeItem(key: string): Promise<unknown>
}

export function asyncStorageAdapter(asyncStorage: AsyncStorageLike): TokenStorage {
  return {
    get: (key) => asyncStorage.getItem(key),
    set: async (key, value) => {
      await asyncStorage.setItem(key, value)
    },
    remove: async (key) => {
      await asyncStorage.removeItem(key)
    },
  }
}
