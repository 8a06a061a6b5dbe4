import type { DailyReport, HourlyType } from './types.ts'

/** A rolling day of hourly figures, stitched from the daily reports' `hourly` arrays (UTC). */
export type Rolling = { current: number[]; previous: number[]; hours: number[] }

/**
 * The 24 whole UTC hours ending with hour `hour` of the last day, and the 24 before them, from the hourly
 * figures of three consecutive days (oldest first). `hours[i]` is the hour of day of the i-th figure.
 */
export function last24Hours(days: [number[], number[], number[]], hour: number): Rolling {
  const [before, yesterday, today] = days
  const split = hour + 1
  return {
    current: [...yesterday.slice(split), ...today.slice(0, split)],
    previous: [...before.slice(split), ...yesterday.slice(0, split)],
    hours: Array.from({ length: 24 }, (_, i) => (split + i) % 24),
  }
}

/** A series of hourly figures the charts can show: every event, or one type. */
export type SeriesKey = 'events' | HourlyType

export const SERIES: { key: SeriesKey; label: string; color: string }[] = [
  { key: 'events', label: 'All events', color: '#334155' },
  { key: 'logins', label: 'Logins', color: '#1d4ed8' },
  { key: 'failedLogins', label: 'Failed logins', color: '#b91c1c' },
  { key: 'refreshes', label: 'Refreshes', color: '#15803d' },
  { key: 'revocations', label: 'Revocations', color: '#c2410c' },
  { key: 'reuseDetections', label: 'Reuse detections', color: '#7e22ce' },
]

export type HourlySeries = Record<SeriesKey, number[]>

/** One report's hourly figures, every series. */
export function seriesOf(report: DailyReport): HourlySeries {
  return { events: report.hourly, ...report.hourlyByType }
}

/** Every series over the last 24 h and the 24 before, from three consecutive days' reports (oldest first). */
export function rollingSeries(
  reports: [DailyReport, DailyReport, DailyReport],
  hour: number,
): { current: HourlySeries; previous: HourlySeries; hours: number[] } {
  const days = reports.map(seriesOf)
  const current = {} as HourlySeries
  const previous = {} as HourlySeries
  let hours: number[] = []
  for (const { key } of SERIES) {
    const r = last24Hours([days[0]![key], days[1]![key], days[2]![key]], hour)
    current[key] = r.current
    previous[key] = r.previous
    hours = r.hours
  }
  return { current, previous, hours }
}
