import mysql from 'mysql2'

// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are what the driver escapes
const NEEDS_ESCAPE = /[\0\b\t\n\r\x1a'\\]/

/**
 * One value as SQL literal text, escaped by the driver's own rules (the text mysql2 sends for a `?` on a
 * pool with `timezone: 'Z'`), except that a string whose only special characters are double quotes is sent
 * as it is: inside single quotes `"` is a plain character in every SQL mode, and JSON text (event envelopes,
 * risk factors) is full of them. For statements assembled in bulk, where the driver's placeholder pass over a
 * megabyte of SQL costs more than the escaping itself. Dates are written in UTC with milliseconds.
 */
export function sqlLiteral(value: unknown): string {
  // Most values are plain text: quoted as they are.
  if (typeof value === 'string') return NEEDS_ESCAPE.test(value) ? mysql.escape(value) : `'${value}'`
  if (value === null || value === undefined) return 'NULL'
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`not a finite number: ${value}`)
    return String(value)
  }
  if (value instanceof Date) {
    const iso = value.toISOString()
    return `'${iso.slice(0, 10)} ${iso.slice(11, 23)}'`
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  throw new TypeError(`no SQL literal for a ${typeof value}`)
}
