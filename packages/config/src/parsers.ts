/**
 * Environment parsers. Each takes the raw string (or undefined) and returns the value or throws an
 * Error whose message says what is wrong; `loadConfig` collects them so one start-up lists every problem.
 */
export type Parser<T> = (raw: string | undefined) => T

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** `900`, `900s`, `15m`, `12h`, `7d` → seconds. Anything else, zero or negative, is an error: no token without a finite exp. */
export function parseDuration(raw: string): number {
  const m = /^(\d{1,9})([smhd]?)$/.exec(raw.trim())
  if (!m) throw new Error(`"${raw}" is not a duration (examples: 900, 900s, 15m, 7d)`)
  const seconds = Number(m[1]) * (UNITS[m[2] || 's'] ?? 1)
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new Error(`"${raw}" must be a positive duration`)
  return seconds
}

/** A duration in seconds; `minSeconds` refuses values too short to be safe (the message says why). */
export const duration =
  (fallback: string, minSeconds = 0, why = ''): Parser<number> =>
  (raw) => {
    const seconds = parseDuration(raw ?? fallback)
    if (seconds < minSeconds) throw new Error(`must be at least ${minSeconds}s${why ? ` (${why})` : ''}`)
    return seconds
  }

export const optionalDuration: Parser<number | undefined> = (raw) =>
  raw === undefined || raw === '' ? undefined : parseDuration(raw)

export const string =
  (fallback?: string): Parser<string> =>
  (raw) => {
    const v = raw ?? fallback
    if (v === undefined || v === '') throw new Error('is required')
    return v
  }

export const optionalString: Parser<string | undefined> = (raw) => (raw === '' ? undefined : raw)

/**
 * A URL with one of `protocols` and a host. Messages never echo the value: it may carry a password, and a
 * malformed one is exactly what gets printed.
 */
export const url =
  (fallback: string, protocols: string[]): Parser<string> =>
  (raw) => {
    const v = raw ?? fallback
    const expected = protocols.join(' or ')
    let parsed: URL
    try {
      parsed = new URL(v)
    } catch {
      throw new Error(`is not a valid URL (expected ${protocols[0]}//host[:port]/…)`)
    }
    if (!protocols.includes(parsed.protocol)) throw new Error(`must use ${expected} (got ${parsed.protocol})`)
    if (parsed.host === '') throw new Error(`must name a host (${protocols[0]}//host[:port]/…)`)
    return v
  }

/** A secret (e.g. an encryption key) of at least `minLength` characters, or unset. Never echoed. */
export const optionalSecret =
  (minLength: number): Parser<string | undefined> =>
  (raw) => {
    if (raw === undefined || raw === '') return undefined
    if (raw.length < minLength) throw new Error(`must be at least ${minLength} characters`)
    return raw
  }

export const port =
  (fallback: number): Parser<number> =>
  (raw) => {
    const v = raw === undefined ? fallback : Number(raw)
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`"${raw}" is not a port`)
    return v
  }

export const integer =
  (fallback: number | undefined, min: number, max: number): Parser<number> =>
  (raw) => {
    if ((raw === undefined || raw === '') && fallback !== undefined) return fallback
    const v = Number(raw)
    if (!Number.isInteger(v) || v < min || v > max)
      throw new Error(`"${raw}" must be an integer ${min}..${max}`)
    return v
  }

export const optionalInteger =
  (min: number, max: number): Parser<number | undefined> =>
  (raw) =>
    raw === undefined || raw === '' ? undefined : integer(undefined, min, max)(raw)

export const boolean =
  (fallback: boolean): Parser<boolean> =>
  (raw) => {
    if (raw === undefined || raw === '') return fallback
    if (/^(true|1|yes)$/i.test(raw)) return true
    if (/^(false|0|no)$/i.test(raw)) return false
    throw new Error(`"${raw}" is not a boolean`)
  }

export const oneOf =
  <T extends string>(fallback: T, values: readonly T[]): Parser<T> =>
  (raw) => {
    const v = (raw ?? fallback) as T
    if (!values.includes(v)) throw new Error(`"${raw}" must be one of ${values.join(', ')}`)
    return v
  }

export type RateLimit = { max: number; windowSeconds: number } | 'off'

/** `N/duration` (e.g. `20/1m`) or `off`. */
export const rateLimit =
  (fallback: string): Parser<RateLimit> =>
  (raw) => {
    const v = (raw ?? fallback).trim()
    if (v === 'off') return 'off'
    const m = /^(\d{1,9})\/(.+)$/.exec(v)
    if (!m || Number(m[1]) <= 0)
      throw new Error(`"${v}" is not a rate limit (N/duration, e.g. 20/1m, or off)`)
    return { max: Number(m[1]), windowSeconds: parseDuration(m[2]!) }
  }

export type TrustProxy = boolean | string | number

/** Fastify's trustProxy: `true`/`false`, a hop count, or addresses/CIDRs (`loopback`, `10.0.0.0/8,...`). */
export const trustProxy: Parser<TrustProxy> = (raw) => {
  if (raw === undefined || raw === '' || raw === 'false') return false
  if (raw === 'true') return true
  if (/^\d+$/.test(raw)) return Number(raw)
  if (/^[\w.:/, -]+$/.test(raw)) return raw
  throw new Error(`"${raw}" is not a trustProxy value`)
}

/** `host:port,host:port` → list; empty → undefined (single Redis). */
export const hostList: Parser<{ host: string; port: number }[] | undefined> = (raw) => {
  if (raw === undefined || raw.trim() === '') return undefined
  return raw.split(',').map((entry) => {
    const m = /^\s*([\w.-]+|\[[\da-f:]+\]):(\d{1,5})\s*$/i.exec(entry)
    if (!m) throw new Error(`"${entry}" is not host:port`)
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) }
  })
}

/**
 * `scheme://host[:port],…` → exact browser origins (no path, no `*`: an allowlist, never a wildcard);
 * `none` → the empty list. Each is kept as the browser sends it in `Origin` (lower case, no default port).
 */
export const originList =
  (fallback: string): Parser<string[]> =>
  (raw) => {
    const v = (raw ?? fallback).trim()
    if (v === 'none') return []
    return v.split(',').map((entry) => {
      const text = entry.trim()
      let parsed: URL | undefined
      try {
        parsed = new URL(text)
      } catch {}
      if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || text.includes('*'))
        throw new Error(`"${text}" is not an origin (http[s]://host[:port], comma-separated, or none)`)
      if (parsed.origin !== text.replace(/\/$/, '').toLowerCase())
        throw new Error(`"${text}" is not an origin: no path, query or user (write ${parsed.origin})`)
      return parsed.origin
    })
  }
