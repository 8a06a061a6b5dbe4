import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkManifests } from '../check/manifests.ts'
import { root } from '../check/yaml-files.ts'

// `pnpm check:infra` over a copy of infra/ with one manifest edited: each drift the check exists for
// must be reported, naming the file and what moved.
const copies: string[] = []
function drifted(file: string, from: string, to: string): string {
  const base = mkdtempSync(join(tmpdir(), 'check-infra-'))
  copies.push(base)
  for (const part of ['docker', 'k8s', 'nginx', 'prometheus', 'grafana', 'compose.yaml'])
    cpSync(join(root, 'infra', part), join(base, 'infra', part), { recursive: true })
  const path = join(base, file)
  const text = readFileSync(path, 'utf8')
  expect(text, `${file} contains ${from}`).toContain(from)
  writeFileSync(path, text.replace(from, to))
  return base
}
afterAll(() => {
  for (const base of copies) rmSync(base, { recursive: true, force: true })
})

describe('pnpm check:infra', () => {
  it('finds no problem in the repository', () => {
    expect(checkManifests(root).problems).toEqual([])
  })

  it.each([
    [
      'an env name the service does not read',
      'infra/k8s/config.yaml',
      'LOG_LEVEL: info',
      'LOGLEVEL: info',
      'sets LOGLEVEL, which token does not read',
    ],
    [
      'an env value the service refuses',
      'infra/compose.yaml',
      'LOG_LEVEL: info\n  # The service',
      'LOG_LEVEL: loud\n  # The service',
      'LOG_LEVEL="loud" is refused',
    ],
    [
      'the port in a ConfigMap',
      'infra/k8s/config.yaml',
      "TOKEN_PORT: '3001'",
      "TOKEN_PORT: '3003'",
      'containerPort 3001, but the service listens on 3003',
    ],
    [
      'the port an image exposes',
      'infra/docker/analytics.Dockerfile',
      'EXPOSE 3002',
      'EXPOSE 3000',
      'EXPOSE 3000, but the service listens on 3002',
    ],
    [
      'an alert rule over a metric no service exports',
      'infra/prometheus/alerts.yaml',
      'max(token_outbox_backlog) > 1000',
      'max(token_outbox_backlog_total) > 1000',
      'TokenOutboxBacklog: token_outbox_backlog_total is not a metric the services export',
    ],
    [
      'a dashboard panel over a metric no service exports',
      'infra/grafana/africhain-sessions.json',
      'max(analytics_consumer_lag_seconds)',
      'max(analytics_consumer_lag_secs)',
      'analytics_consumer_lag_secs is not a metric the services export',
    ],
    [
      'an nginx upstream port',
      'infra/nginx/token-lb.conf',
      'server token-2:3001',
      'server token-2:3000',
      'upstream token-2',
    ],
    [
      'a readiness probe path',
      'infra/k8s/token.yaml',
      'path: /health/ready',
      'path: /healthz',
      'readinessProbe GETs /healthz, not /health/ready',
    ],
    [
      "a probe on a port that is not the service's",
      'infra/k8s/analytics-worker.yaml',
      "value: '9464'",
      "value: '9465'",
      'containerPort 9464, but the service listens on 9465',
    ],
    [
      'a compose grace period under the drain',
      'infra/compose.yaml',
      'stop_grace_period: 30s',
      'stop_grace_period: 10s',
      "stop_grace_period 10 s < the service's 20 s shutdown",
    ],
    [
      'a pod grace period under preStop + drain',
      'infra/k8s/token.yaml',
      'terminationGracePeriodSeconds: 30',
      'terminationGracePeriodSeconds: 15',
      "less the preStop sleep: 10 s < the service's 15 s shutdown",
    ],
    [
      'an image that runs an old entry file',
      'infra/docker/token.Dockerfile',
      'CMD ["node", "services/token/src/server.ts"]',
      'CMD ["node", "services/token/src/main.ts"]',
      'runs ["node","services/token/src/main.ts"]',
    ],
    [
      'a KEDA trigger on another stream',
      'infra/k8s/analytics-worker.yaml',
      'stream: session-events',
      'stream: events',
      'KEDA stream events, but the workers read session-events',
    ],
    [
      'a Service sending to a port the pods do not name',
      'infra/k8s/token.yaml',
      'targetPort: http',
      'targetPort: web',
      'targetPort web is not a container port',
    ],
    [
      'a shared variable one service sets differently',
      'infra/k8s/config.yaml',
      'EVENTS_STREAM: session-events\n  ALERTS_STREAM: security-alerts\n  LOG_LEVEL',
      'EVENTS_STREAM: token-events\n  ALERTS_STREAM: security-alerts\n  LOG_LEVEL',
      'EVENTS_STREAM differs between services',
    ],
  ])('reports %s', (_label, file, from, to, expected) => {
    const problems = checkManifests(drifted(file, from, to)).problems
    expect(
      problems.some((p) => p.includes(expected)),
      problems.join('\n'),
    ).toBe(true)
  })
})
