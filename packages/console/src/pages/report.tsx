import { useMemo } from 'preact/hooks'
import { SeriesChart } from '../components/series-chart.tsx'
import { Async, Page, Stat } from '../components/ui.tsx'
import { csv, download, percent, utcDay } from '../format.ts'
import { useConsole, useLoad } from '../hooks.ts'
import { SERIES, seriesOf } from '../rolling.ts'
import { href } from '../router.ts'
import type { Change, DailyReport } from '../types.ts'

const ROWS: [string, string][] = [
  ['logins', 'Logins'],
  ['failedLogins', 'Failed logins'],
  ['uniqueUsers', 'Unique users'],
  ['refreshes', 'Refreshes'],
  ['revocations', 'Revocations'],
  ['reuseDetections', 'Reuse detections'],
  ['suspiciousUsers', 'Suspicious users'],
]

function reportCsv(r: DailyReport, previous: DailyReport): string {
  const change = (k: string) => r.comparedToPreviousDay[k] as Change
  const [today, before] = [seriesOf(r), seriesOf(previous)]
  return csv([
    ['metric', r.date, previous.date, 'change'],
    ...ROWS.map(([k, label]) => [
      label,
      change(k).previous + change(k).change,
      change(k).previous,
      change(k).change,
    ]),
    [],
    ['hour (UTC)', ...SERIES.flatMap((s) => [`${s.label} ${r.date}`, `${s.label} ${previous.date}`])],
    ...r.hourly.map((_, h) => [
      `${String(h).padStart(2, '0')}:00`,
      ...SERIES.flatMap((s) => [today[s.key][h] ?? 0, before[s.key][h] ?? 0]),
    ]),
  ])
}

/** The daily report of a UTC day: totals against the previous day, events per hour, as CSV too. */
export function ReportPage(props: { date?: string }) {
  const { api } = useConsole()
  const date = props.date ?? utcDay()
  const load = useLoad(async () => {
    const report = await api.report(date)
    const previous = await api.report(report.comparedToPreviousDay.date)
    return { report, previous }
  }, [api, date])
  return (
    <Page
      title={`Daily report ${date}`}
      actions={
        <label>
          Day (UTC){' '}
          <input
            type="date"
            value={date}
            max={utcDay()}
            onChange={(e) => {
              if (e.currentTarget.value) location.hash = href.report(e.currentTarget.value)
            }}
          />
        </label>
      }
    >
      <Async value={load}>{(d) => <ReportBody {...d} />}</Async>
    </Page>
  )
}

function ReportBody({ report, previous }: { report: DailyReport; previous: DailyReport }) {
  const [current, before] = useMemo(() => [seriesOf(report), seriesOf(previous)], [report, previous])
  return (
    <>
      <div class="stats">
        <Stat label="logins" value={report.logins} />
        <Stat label="failed logins" value={report.failedLogins} />
        <Stat label="unique users" value={report.uniqueUsers} />
        <Stat label="reuse detections" value={report.reuseDetections} />
        <Stat label="suspicious users" value={report.suspiciousUsers} />
      </div>
      <div class="card">
        <SeriesChart
          title={`Per hour (UTC), ${report.date} against ${previous.date}`}
          current={current}
          previous={before}
          currentLabel={report.date}
          previousLabel={previous.date}
          initial={['events']}
        />
      </div>
      <div class="card table-wrap">
        <table>
          <caption>Compared with {previous.date}</caption>
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col">{report.date}</th>
              <th scope="col">{previous.date}</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {ROWS.map(([key, label]) => {
              const c = report.comparedToPreviousDay[key] as Change
              return (
                <tr key={key}>
                  <th scope="row">{label}</th>
                  <td>{c.previous + c.change}</td>
                  <td>{c.previous}</td>
                  <td>{percent(c.changePercent, c.previous + c.change)}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
        <button
          type="button"
          class="primary"
          onClick={() => download(`africhain-report-${report.date}.csv`, reportCsv(report, previous))}
        >
          Download CSV
        </button>
      </div>
    </>
  )
}
