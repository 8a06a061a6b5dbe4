import { createPublicKey, type KeyObject } from 'node:crypto'

/** Where a verifier finds the public key for a token's `kid`. Lookups are in memory only. */
export interface KeySource {
  /** The key for `kid`, or undefined. Never does I/O: a `kid` is only a lookup in the in-memory set. */
  get(kid: string): KeyObject | undefined
  /** Asks for a fresh key set (e.g. an unknown `kid` after a rotation); implementations rate-limit it. */
  refresh(): Promise<void>
}

export type Jwk = { kty: string; crv?: string; x?: string; kid?: string; alg?: string; use?: string }

/** Imports the Ed25519 keys of a JWKS document; anything else is skipped (the verifier only accepts EdDSA). */
export function importJwks(doc: unknown): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>()
  const list = (doc as { keys?: unknown })?.keys
  if (!Array.isArray(list)) return keys
  for (const jwk of list as Jwk[]) {
    if (
      jwk?.kty !== 'OKP' ||
      jwk.crv !== 'Ed25519' ||
      typeof jwk.kid !== 'string' ||
      typeof jwk.x !== 'string'
    )
      continue
    try {
      keys.set(jwk.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }))
    } catch {
      // a malformed key is skipped, never fatal
    }
  }
  return keys
}

export type JwksOptions = {
  url: string
  fetch?: typeof fetch
  /** Refetch the set this often in the background (default 60 s). */
  refreshIntervalMs?: number
  /** At most one fetch per this interval, whatever asks for it (default 5 s). */
  minRefetchIntervalMs?: number
  timeoutMs?: number
  onError?: (err: unknown) => void
}

/**
 * A key source fed from the token service's JWKS. Fetches at start, on an interval, and when asked
 * (unknown kid) at most once per `minRefetchIntervalMs`, so forged kids cannot turn into a fetch storm.
 */
export class JwksKeySource implements KeySource {
  #keys = new Map<string, KeyObject>()
  #opts: Required<Omit<JwksOptions, 'onError'>> & Pick<JwksOptions, 'onError'>
  #lastFetch = 0
  #inflight: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(opts: JwksOptions) {
    this.#opts = {
      fetch: globalThis.fetch,
      refreshIntervalMs: 60_000,
      minRefetchIntervalMs: 5_000,
      timeoutMs: 2_000,
      ...opts,
    }
  }

  get size(): number {
    return this.#keys.size
  }

  get(kid: string): KeyObject | undefined {
    return this.#keys.get(kid)
  }

  async start(): Promise<void> {
    await this.#fetch().catch((err) => this.#opts.onError?.(err))
    if (!this.#timer) {
      this.#timer = setInterval(() => {
        this.#fetch().catch((err) => this.#opts.onError?.(err))
      }, this.#opts.refreshIntervalMs)
      this.#timer.unref()
    }
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  refresh(): Promise<void> {
    if (Date.now() - this.#lastFetch < this.#opts.minRefetchIntervalMs)
      return this.#inflight ?? Promise.resolve()
    return this.#fetch().catch((err) => this.#opts.onError?.(err))
  }

  #fetch(): Promise<void> {
    if (this.#inflight) return this.#inflight
    this.#lastFetch = Date.now()
    this.#inflight = (async () => {
      try {
        const res = await this.#opts.fetch(this.#opts.url, {
          signal: AbortSignal.timeout(this.#opts.timeoutMs),
        })
        if (!res.ok) throw new Error(`JWKS fetch answered ${res.status}`)
        const keys = importJwks(await res.json())
        if (keys.size > 0) this.#keys = keys
      } finally {
        this.#inflight = undefined
      }
    })()
    return this.#inflight
  }
}
