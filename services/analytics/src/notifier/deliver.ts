import { type Backoff, backoff } from '@africhain/bus'
import type { RiskAlert } from '@africhain/events'
import { requestFor, type Webhook } from './webhooks.ts'

export type RetryPolicy = { maxAttempts: number; baseDelayMs: number; maxDelayMs: number; timeoutMs: number }

export type DeliveryOutcome =
  | { ok: true; attempts: number }
  | { ok: false; attempts: number; reason: string; permanent: boolean }

/** The services' one backoff (`@africhain/bus`) with the notifier's settings: the first retry waits about `baseDelayMs`. */
export const retryBackoff = (policy: RetryPolicy): Backoff => ({
  baseMs: policy.baseDelayMs,
  maxMs: policy.maxDelayMs,
})

/** A 4xx other than 408 and 429 will not change by retrying: the receiver refuses this request. */
const permanentStatus = (status: number) => status >= 400 && status < 500 && status !== 408 && status !== 429

/**
 * Posts one alert to one hook until a 2xx, retrying network errors, timeouts, 408, 429 and 5xx with
 * backoff; at most `maxAttempts` attempts, fewer when the receiver refuses for good or `signal` aborts.
 * `onAttemptFailed` sees each failure (metrics, logs); reasons never carry the URL.
 */
export async function deliver(
  hook: Webhook,
  alert: RiskAlert,
  opts: {
    secret: string | undefined
    policy: RetryPolicy
    signal: AbortSignal
    onAttemptFailed?: (reason: string) => void
    now?: () => Date
  },
): Promise<DeliveryOutcome> {
  const { policy } = opts
  let reason = 'not attempted'
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    const { body, headers } = requestFor(hook, alert, opts.secret, opts.now?.() ?? new Date())
    let permanent = false
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([opts.signal, AbortSignal.timeout(policy.timeoutMs)]),
      })
      await res.body?.cancel().catch(() => {})
      if (res.status >= 200 && res.status < 300) return { ok: true, attempts: attempt }
      reason = `HTTP ${res.status}`
      permanent = permanentStatus(res.status)
    } catch (err) {
      const name = (err as Error).name
      reason =
        name === 'TimeoutError' ? `no answer within ${policy.timeoutMs} ms` : `request failed (${name})`
    }
    opts.onAttemptFailed?.(reason)
    if (permanent || opts.signal.aborted) return { ok: false, attempts: attempt, reason, permanent }
    if (attempt < policy.maxAttempts) await backoff(attempt - 1, retryBackoff(policy), opts.signal)
  }
  return { ok: false, attempts: policy.maxAttempts, reason, permanent: false }
}
