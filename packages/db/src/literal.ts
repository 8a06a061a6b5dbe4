import mysql from 'mysql2'

/**
 * One value as SQL literal text, escaped by the driver's own rules (the exact text mysql2 sends for a `?`
 * on a pool with `timezone: 'Z'`). For statements assembled in bulk, where the driver's placeholder pass over
 * a megabyte of SQL costs more than the escaping itself. Dates are written in UTC with milliseconds.
 */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL'
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`)
    return String(value)
  }
  if (value instanceof Date) return `'${value.toISOString().slice(0, 23).replace('T', ' ')}'`
  if (typeof value === 'string' || typeof value === 'boolean') return mysql.escape(value)
  throw new TypeError(`no SQL literal for a ${typeof value}`)
}
