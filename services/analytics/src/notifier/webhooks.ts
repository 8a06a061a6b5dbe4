import { createHmac } from 'node:crypto'
import type { RiskAlert } from '@africhain/events'

/** One configured receiver of alerts (ALERT_WEBHOOKS): a name for logs and metrics, a format, a URL. */
export type Webhook = { name: string; format: 'json' | 'slack'; url: string }

/**
 * `name=format:url,…` (`ops=json:https://siem.example.com/africhain,oncall=slack:https://hooks.slack.com/…`)
 * → hooks. Messages never echo a URL: a Slack webhook URL is itself a secret.
 */
export function parseWebhooks(raw: string | undefined): Webhook[] {
  if (raw === undefined || raw.trim() === '') return []
  const names = new Set<string>()
  return raw.split(',').map((entry, i) => {
    const m = /^\s*([a-z0-9_-]{1,32})=(json|slack):(https?:\/\/\S+?)\s*$/i.exec(entry)
    if (!m) throw new Error(`entry ${i + 1} is not name=json:url or name=slack:url (name: a-z, 0-9, _ or -)`)
    const [, name, format, url] = m as unknown as [string, string, 'json' | 'slack', string]
    try {
      new URL(url)
    } catch {
      throw new Error(`entry ${i + 1} (${name}) has no valid http(s) URL`)
    }
    if (names.has(name)) throw new Error(`hook name ${name} appears twice`)
    names.add(name)
    return { name, format: format.toLowerCase() as 'json' | 'slack', url }
  })
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: what a receiver recomputes to trust a delivery. */
export function signature(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
  return `t=${timestamp},v1=${mac}`
}

/** A message Slack's incoming webhooks (and compatible chat tools) post as is. */
function slackMessage(alert: RiskAlert): object {
  const factors = alert.data.factors.map((f) => `${f.code} +${f.points}`).join(', ') || 'no factors'
  const text =
    `:rotating_light: Risk alert for user \`${alert.userId}\`: score ${alert.data.score}` +
    ` (holder ${alert.data.holderScore}) — ${factors}. Alert ${alert.id} at ${alert.occurredAt}.`
  return { text }
}

/** The request for one delivery: the alert envelope as JSON, signed; or the Slack message. */
export function requestFor(
  hook: Webhook,
  alert: RiskAlert,
  secret: string | undefined,
  now: Date,
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(hook.format === 'slack' ? slackMessage(alert) : alert)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'africhain-notifier/1',
    'x-africhain-delivery': alert.id,
  }
  if (hook.format === 'json' && secret)
    headers['x-africhain-signature'] = signature(secret, Math.floor(now.getTime() / 1000), body)
  return { body, headers }
}
