import type { ComponentChildren } from 'preact'
import { useRef, useState } from 'preact/hooks'
import type { Loaded } from '../hooks.ts'
import { useConsole } from '../hooks.ts'
import type { RiskFactor } from '../types.ts'

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          {props.title}
        </h1>
        {props.actions && <div class="page-actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  )
}

/** Loading, error or the content of a Loaded value; the error names the service's code. */
export function Async<T>(props: { value: Loaded<T>; children: (data: T) => ComponentChildren }) {
  const { data, error, loading } = props.value
  if (error && !data) {
    const code = (error as { code?: string }).code
    return (
      <p class="notice error" role="alert">
        Could not load this: {error.message || 'the service did not answer'}
        {code ? ` (${code})` : ''}
      </p>
    )
  }
  if (!data) return <p class="muted">{loading ? 'Loading…' : 'Nothing to show.'}</p>
  return <>{props.children(data)}</>
}

export function Stat(props: { label: string; value: ComponentChildren; hint?: string }) {
  return (
    <div class="stat">
      <div class="stat-value">{props.value}</div>
      <div class="stat-label">{props.label}</div>
      {props.hint && <div class="stat-hint">{props.hint}</div>}
    </div>
  )
}

export function Chips(props: { factors: RiskFactor[] }) {
  if (props.factors.length === 0) return <span class="muted">none</span>
  return (
    <ul class="chips" aria-label="risk factors">
      {props.factors.map((f) => (
        <li key={f.code} class="chip" title={f.detail ? JSON.stringify(f.detail) : undefined}>
          {f.code.replaceAll('_', ' ').toLowerCase()} <b>+{f.points}</b>
        </li>
      ))}
    </ul>
  )
}

export function Score(props: { value: number }) {
  const level = props.value > 50 ? 'high' : props.value > 20 ? 'medium' : 'low'
  return <span class={`score ${level}`}>{props.value}</span>
}

/**
 * A button whose action runs only after the analyst confirms it in a modal dialog (Escape or Cancel backs
 * out); what happened is announced in the status line, success or failure.
 */
export function ConfirmButton(props: {
  label: string
  question: string
  confirmLabel: string
  danger?: boolean
  disabled?: boolean
  action: () => Promise<string>
}) {
  const { notify } = useConsole()
  const dialog = useRef<HTMLDialogElement>(null)
  const [busy, setBusy] = useState(false)
  const confirm = async () => {
    dialog.current?.close()
    setBusy(true)
    try {
      notify(await props.action(), 'ok')
    } catch (error) {
      const e = error as Error & { code?: string }
      notify(`${props.label} failed: ${e.message || 'no answer'}${e.code ? ` (${e.code})` : ''}`, 'error')
    } finally {
      setBusy(false)
    }
  }
  return (
    <>
      <button
        type="button"
        class={props.danger ? 'danger' : ''}
        disabled={busy || props.disabled}
        onClick={() => dialog.current?.showModal()}
      >
        {busy ? 'Working…' : props.label}
      </button>
      <dialog ref={dialog} class="confirm" aria-label={props.label}>
        <p>{props.question}</p>
        <div class="row">
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="button" class={props.danger ? 'danger' : 'primary'} onClick={confirm}>
            {props.confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  )
}
