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

/** Start of a `YYYY-MM-DD` day in ms, or NaN when it is not a real calendar date (2026-02-30). */
export function dayStart(day: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return Number.NaN
  const ms = Date.parse(`${day}T00:00:00.000Z`)
  return Number.isNaN(ms) || utcDay(ms) !== day ? Number.NaN : ms
}

export function isCalendarDay(day: string): boolean {
  return !Number.isNaN(dayStart(day))
}

export function addDays(day: string, n: number): string {
  return utcDay(dayStart(day) + n * DAY_MS)
}

export function floorHour(ms: number): number {
  return ms - (ms % HOUR_MS)
}
