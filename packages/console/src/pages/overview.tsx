import { Bars } from '../components/chart.tsx'
import { SeriesChart } from '../components/series-chart.tsx'
import { Async, Page, Stat } from '../components/ui.tsx'
import { duration, time, utcDay } from '../format.ts'
import { useConsole, useLoad } from '../hooks.ts'
import { rollingSeries } from '../rolling.ts'
import type { Change, DailyReport, PipelineHealth, SessionAnalytics } from '../types.ts'

const REFRESH_MS = 5_000
const TYPES: [keyof DailyReport['comparedToPreviousDay'], string][] = [
  ['logins', 'Logins'],
  ['failedLogins', 'Failed logins'],
  ['refreshes', 'Refreshes'],
  ['revocations', 'Revocations'],
  ['reuseDetections', 'Reuse detections'],
]

/** System-wide figures, refreshed every 5 s: sessions, devices, durations, the last 24 h against the 24 before, pipeline. */
export function OverviewPage() {
  const { api } = useConsole()
  const load = useLoad(
    async (): Promise<OverviewData> => {
      const now = new Date()
      const [overview, today, yesterday, before, pipeline] = await Promise.all([
        api.overview(),
        api.report(utcDay(now)),
        api.report(utcDay(now, -1)),
        api.report(utcDay(now, -2)),
        api.pipeline().catch(() => ({})),
      ])
      const rolling = rollingSeries([before, yesterday, today], now.getUTCHours())
      return { overview, today, rolling, pipeline }
    },
    [api],
    REFRESH_MS,
  )
  return (
    <Page title="Overview" actions={<span class="muted live-dot">refreshes every 5 s</span>}>
      <Async value={load}>{(d) => <OverviewBody {...d} />}</Async>
    </Page>
  )
}

type OverviewData = {
  overview: SessionAnalytics
  today: DailyReport
  rolling: ReturnType<typeof rollingSeries>
  pipeline: PipelineHealth
}

function OverviewBody({ overview, today, rolling, pipeline }: OverviewData) {
  const completeness = overview.dataCompleteness
  const byType = TYPES.map(([key, label]) => {
    const change = today.comparedToPreviousDay[key] as Change
    return { label, value: change.previous + change.change, previous: change.previous }
  })
  return (
    <>
      <div class="stats">
        <Stat label="active sessions" value={overview.totalActiveSessions} />
        <Stat label="users with a session" value={overview.userActiveSessions} />
        <Stat label="refreshes (24 h)" value={overview.securityEvents.tokenRefreshes} />
        <Stat label="revocations (24 h)" value={overview.securityEvents.tokenRevocations} />
        <Stat label="suspicious events (24 h)" value={overview.securityEvents.suspiciousActivity} />
      </div>
      <div class="grid">
        <div class="card wide">
          <SeriesChart
            title="Per hour (UTC) by type, the last 24 hours against the 24 before"
            current={rolling.current}
            previous={rolling.previous}
            hours={rolling.hours}
            currentLabel="last 24 h"
            previousLabel="the 24 h before"
            initial={['logins', 'failedLogins', 'refreshes', 'revocations', 'reuseDetections']}
          />
        </div>
        <div class="card">
          <Bars
            title={`Today (${today.date} UTC) by type (bar) against the previous day (thin bar)`}
            items={byType}
          />
        </div>
        <div class="card">
          <Bars
            title="Active sessions by device"
            items={Object.entries(overview.deviceBreakdown).map(([label, value]) => ({ label, value }))}
          />
        </div>
        <div class="card">
          <h2>Session durations (24 h)</h2>
          <div class="stats small">
            <Stat label="average" value={duration(overview.sessionDuration.average)} />
            <Stat label="median" value={duration(overview.sessionDuration.median)} />
            <Stat label="longest" value={duration(overview.sessionDuration.max)} />
          </div>
        </div>
        <div class="card">
          <h2>Data pipeline</h2>
          <div class="stats small">
            <Stat
              label="data completeness"
              value={completeness ? (completeness.complete ? 'complete' : 'gaps') : '—'}
              hint={
                completeness && !completeness.complete
                  ? `${completeness.missingEvents} events lost`
                  : undefined
              }
            />
            <Stat label="consumer lag (entries)" value={pipeline.lag ?? '—'} />
            <Stat label="lag (seconds)" value={pipeline.lagSeconds ?? '—'} />
            <Stat label="dead letters" value={pipeline.deadLetters ?? '—'} />
          </div>
          <p class="muted">Generated {time(overview.generatedAt)} UTC</p>
        </div>
      </div>
    </>
  )
}
