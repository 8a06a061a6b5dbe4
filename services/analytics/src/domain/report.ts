/** The day's totals the report is built from (precomputed by the worker). */
export type DayTotals = {
  /** Counter totals by metric name (see `metricsOf`). */
  counters: Record<string, number>
  /** Counts per UTC hour (24 numbers) by metric name; `events` is every event. Absent metric: all zeros. */
  hourly: Record<string, number[]>
  uniqueUsers: number
  suspiciousUsers: number
}

/** The event types the report breaks down by hour, and the counter each is read from. */
export const HOURLY_TYPES = {
  logins: 'logins',
  failedLogins: 'failed_logins',
  refreshes: 'refreshes',
  revocations: 'revocations',
  reuseDetections: 'reuse_detections',
} as const

export type HourlyByType = Record<keyof typeof HOURLY_TYPES, number[]>

export type Change = { previous: number; change: number; changePercent: number | null }

export type DailyReport = {
  date: string
  logins: number
  failedLogins: number
  uniqueUsers: number
  refreshes: number
  revocations: { total: number; byReason: Record<string, number> }
  reuseDetections: number
  deviceMismatches: number
  registrations: number
  suspiciousUsers: number
  deviceBreakdown: Record<string, number>
  hourly: number[]
  hourlyByType: HourlyByType
  comparedToPreviousDay: {
    date: string
    logins: Change
    failedLogins: Change
    uniqueUsers: Change
    refreshes: Change
    revocations: Change
    reuseDetections: Change
    suspiciousUsers: Change
  }
  generatedAt: string
}

function withPrefix(counters: Record<string, number>, prefix: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [metric, n] of Object.entries(counters)) {
    if (metric.startsWith(prefix) && n > 0) out[metric.slice(prefix.length)] = n
  }
  return out
}

const noHours = () => Array.from({ length: 24 }, () => 0)

function change(current: number, previous: number): Change {
  return {
    previous,
    change: current - previous,
    // No percentage against an empty day: "infinitely more" helps nobody.
    changePercent: previous === 0 ? null : Math.round(((current - previous) / previous) * 1000) / 10,
  }
}

export function buildDailyReport(
  date: string,
  previousDate: string,
  today: DayTotals,
  previous: DayTotals,
  generatedAt: Date,
): DailyReport {
  const c = (t: DayTotals, metric: string) => t.counters[metric] ?? 0
  return {
    date,
    logins: c(today, 'logins'),
    failedLogins: c(today, 'failed_logins'),
    uniqueUsers: today.uniqueUsers,
    refreshes: c(today, 'refreshes'),
    revocations: {
      total: c(today, 'revocations'),
      byReason: withPrefix(today.counters, 'revocations.reason.'),
    },
    reuseDetections: c(today, 'reuse_detections'),
    deviceMismatches: c(today, 'device_mismatches'),
    registrations: c(today, 'registrations'),
    suspiciousUsers: today.suspiciousUsers,
    deviceBreakdown: withPrefix(today.counters, 'logins.platform.'),
    hourly: today.hourly.events ?? noHours(),
    hourlyByType: Object.fromEntries(
      Object.entries(HOURLY_TYPES).map(([key, metric]) => [key, today.hourly[metric] ?? noHours()]),
    ) as HourlyByType,
    comparedToPreviousDay: {
      date: previousDate,
      logins: change(c(today, 'logins'), c(previous, 'logins')),
      failedLogins: change(c(today, 'failed_logins'), c(previous, 'failed_logins')),
      uniqueUsers: change(today.uniqueUsers, previous.uniqueUsers),
      refreshes: change(c(today, 'refreshes'), c(previous, 'refreshes')),
      revocations: change(c(today, 'revocations'), c(previous, 'revocations')),
      reuseDetections: change(c(today, 'reuse_detections'), c(previous, 'reuse_detections')),
      suspiciousUsers: change(today.suspiciousUsers, previous.suspiciousUsers),
    },
    generatedAt: generatedAt.toISOString(),
  }
}
