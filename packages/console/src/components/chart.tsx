import 'uplot/dist/uPlot.min.css'
import { useEffect, useRef } from 'preact/hooks'
import uPlot from 'uplot'

export type Series = { label: string; values: number[]; color: string; dash?: boolean; fill?: boolean }

/**
 * Hourly figures as lines (uPlot, one canvas), resized with its box. `summary` is what a screen reader gets
 * instead of the canvas; the legend and the numbers are drawn next to it (series-chart.tsx).
 */
export function HourlyChart(props: {
  title: string
  series: Series[]
  summary: string
  height?: number
  /** The hour of day of the i-th figure (a rolling window); default i. */
  hours?: number[]
}) {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = box.current
    if (!el) return
    const hours = Array.from({ length: 24 }, (_, h) => h)
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: props.height ?? 220,
      scales: { x: { time: false } },
      axes: [
        {
          // In a rolling window, ticks count back from the last figure: the current hour is always labelled.
          splits: (u) => {
            const step = u.width < 520 ? 5 : 2
            return hours.filter((i) => (props.hours ? 23 - i : i) % step === 0)
          },
          values: (_u, ticks) => ticks.map((t) => `${String(props.hours?.[t] ?? t).padStart(2, '0')}h`),
          stroke: '#475569',
        },
        { stroke: '#475569', size: 40 },
      ],
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      series: [
        { label: 'hour (UTC)' },
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          ...(s.dash ? { dash: [6, 4] } : {}),
          ...(s.fill ? { fill: `${s.color}22` } : {}),
          points: { show: false },
        })),
      ],
    }
    const plot = new uPlot(opts, [hours, ...props.series.map((s) => s.values)], el)
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(el.clientWidth, 200), height: opts.height }),
    )
    resize.observe(el)
    return () => {
      resize.disconnect()
      plot.destroy()
    }
  }, [props.series, props.height, props.hours])
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} class="chart-box" role="img" aria-label={props.summary} />
    </figure>
  )
}

/** Horizontal bars in plain HTML: counts by category (devices, event types), readable without a canvas. */
export function Bars(props: { title: string; items: { label: string; value: number; previous?: number }[] }) {
  const max = Math.max(1, ...props.items.flatMap((i) => [i.value, i.previous ?? 0]))
  return (
    <figure class="bars">
      <figcaption>{props.title}</figcaption>
      {props.items.length === 0 && <p class="muted">No data yet.</p>}
      <dl>
        {props.items.map((i) => (
          <div key={i.label} class="bar-row">
            <dt>{i.label}</dt>
            <dd>
              <span class="track">
                <span class="bar" style={{ width: `${(i.value / max) * 100}%` }} />
                {i.previous !== undefined && (
                  <span class="bar previous" style={{ width: `${(i.previous / max) * 100}%` }} />
                )}
              </span>
              <span class="bar-value">
                {i.value}
                {i.previous !== undefined && <span class="muted"> (prev. {i.previous})</span>}
              </span>
            </dd>
          </div>
        ))}
      </dl>
    </figure>
  )
}
