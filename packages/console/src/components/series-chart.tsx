import { useMemo, useState } from 'preact/hooks'
import { type HourlySeries, SERIES, type SeriesKey } from '../rolling.ts'
import { HourlyChart, type Series } from './chart.tsx'

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)
const hourLabel = (h: number) => `${String(h).padStart(2, '0')}h`

type Props = {
  title: string
  current: HourlySeries
  previous: HourlySeries
  /** What the two windows are called: "last 24 h" and "the 24 h before", or two dates. */
  currentLabel: string
  previousLabel: string
  /** The series shown at first (the analyst toggles them). */
  initial: SeriesKey[]
  /** The hour of day of the i-th figure (a rolling window); default i. */
  hours?: number[]
}

/**
 * Hourly series by event type against the window before (dashed), with a legend of checkboxes that shows or
 * hides each series (native inputs: Tab and Space work) and the figures in a table for screen readers.
 */
export function SeriesChart(props: Props) {
  const [shown, setShown] = useState<SeriesKey[]>(props.initial)
  const [compare, setCompare] = useState(true)
  const visible = SERIES.filter((s) => shown.includes(s.key))
  const dataKey = JSON.stringify([props.current, props.previous, props.hours])
  const series = useMemo(
    () =>
      visible.flatMap((s): Series[] => [
        {
          label: `${s.label}, ${props.currentLabel}`,
          values: props.current[s.key],
          color: s.color,
          // Filled only alone: five overlapping fills hide each other.
          fill: visible.length === 1,
        },
        ...(compare
          ? [
              {
                label: `${s.label}, ${props.previousLabel}`,
                values: props.previous[s.key],
                color: s.color,
                dash: true,
              },
            ]
          : []),
      ]),
    [dataKey, shown.join(), compare],
  )
  const hours = useMemo(() => props.hours, [props.hours?.join()])
  const toggle = (key: SeriesKey) =>
    setShown((now) => (now.includes(key) ? now.filter((k) => k !== key) : [...now, key]))
  const summary =
    visible.length === 0
      ? 'No series shown.'
      : visible
          .map(
            (s) =>
              `${s.label} per hour, ${props.currentLabel}: ${props.current[s.key].join(', ')}` +
              (compare ? `; ${props.previousLabel}: ${props.previous[s.key].join(', ')}` : ''),
          )
          .join('. ')
  return (
    <div class="series-chart">
      <HourlyChart title={props.title} series={series} hours={hours} summary={summary} />
      <fieldset class="series-toggles">
        <legend>
          Series ({props.currentLabel} against {props.previousLabel})
        </legend>
        {SERIES.map((s) => (
          <label key={s.key} class="toggle">
            <input type="checkbox" checked={shown.includes(s.key)} onChange={() => toggle(s.key)} />
            <span class="swatch" style={{ background: s.color }} aria-hidden="true" />
            {s.label}
            <span class="toggle-n">
              {sum(props.current[s.key])} vs {sum(props.previous[s.key])}
            </span>
          </label>
        ))}
        <label class="toggle">
          <input type="checkbox" checked={compare} onChange={() => setCompare(!compare)} />
          <span class="swatch dashed" aria-hidden="true" />
          {props.previousLabel} (dashed)
        </label>
      </fieldset>
      {visible.length === 0 && <p class="muted">No series shown: tick one above.</p>}
      <details class="figures">
        <summary>Figures per hour</summary>
        {/* biome-ignore lint/a11y/noNoninteractiveTabindex: at phone width the table scrolls sideways: the keyboard must reach it */}
        <section class="table-wrap" tabIndex={0} aria-label="Figures per hour">
          <table>
            <caption>
              {props.currentLabel}
              {compare && ` (in brackets: ${props.previousLabel})`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Hour (UTC)</th>
                {visible.map((s) => (
                  <th key={s.key} scope="col" data-series={s.key}>
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.current.events.map((_, i) => (
                <tr key={hourLabel(props.hours?.[i] ?? i)}>
                  <th scope="row">{hourLabel(props.hours?.[i] ?? i)}</th>
                  {visible.map((s) => (
                    <td key={s.key} data-series={s.key}>
                      {props.current[s.key][i]}
                      {compare && ` (${props.previous[s.key][i]})`}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </details>
    </div>
  )
}
