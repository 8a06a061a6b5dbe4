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
