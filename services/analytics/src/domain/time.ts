/** UTC calendar helpers: every date the analytics service reads or writes is UTC. */
export const HOUR_MS = 3_600_000
export const DAY_MS = 86_400_000

/** `YYYY-MM-DD` of an instant, in UTC. */
export function utcDay(ms: number): string {
  // Called per event and per evaluation point on the ingest path: consecutive calls mostly share a day.
  const day = Math.floor(ms / DAY_MS)
  if (day !== lastDay) {
    lastDayText = new Date(day * DAY_MS).toISOString().slice(0, 10)
    lastDay = day
  }
  return lastDayText
}
let lastDay = Number.NaN
let lastDayText = ''

export function utcHour(ms: number): number {
  return Math.floor((((ms % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS)
}

/**
 * The instants the API accepts: 1970-01-01T00:00:00Z up to 9999-12-31T23:59:59.999Z in UTC. Outside them
 * the driver writes years it cannot round-trip (`'10000-01-01'` compares below every stored date, which
 * inverts a window) and `utcDay` no longer yields `YYYY-MM-DD`.
 */
export const LAST_INSTANT_MS = 253_402_300_799_999

/** Start of a `YYYY-MM-DD` day in ms, or NaN when it is not a real calendar date (2026-02-30, 0000-01-01). */
export function dayStart(day: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return Number.NaN
  const ms = Date.parse(`${day}T00:00:00.000Z`)
  return Number.isNaN(ms) || ms < 0 || utcDay(ms) !== day ? Number.NaN : ms
}

// RFC 3339 `date-time`: `T` (or a space, which §5.6 allows), seconds 00–59, `Z` or a `±HH:MM` offset.
const INSTANT = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:[0-5]\d(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i

/**
 * An RFC 3339 date-time as ms since the epoch, or NaN when it is not one the API can answer for: a leap
 * second or an hour-only offset (`Date` cannot read them and the driver would send NULL), or an instant
 * outside 1970..9999 in UTC. A space separator is read as `T` (`Date`'s own reading of it takes years
 * 0000–0099 for 1950–2049).
 */
export function parseInstant(text: string): number {
  if (!INSTANT.test(text)) return Number.NaN
  const ms = Date.parse(text.toUpperCase().replace(' ', 'T'))
  return ms >= 0 && ms <= LAST_INSTANT_MS ? ms : Number.NaN
}

export function isCalendarDay(day: string): boolean {
  return !Number.isNaN(dayStart(day))
}

export function addDays(day: string, n: number): string {
  return utcDay(dayStart(day) + n * DAY_MS)
}
