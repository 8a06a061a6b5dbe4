// The images' HEALTHCHECK: `node infra/docker/healthcheck.ts token|analytics` asks this container's own
// process for GET /health/ready (200 only while Redis and the database answer) and exits 0 or 1.
// It reads the port from the service's own config loader, so it probes whatever port the process listens
// on. An analytics worker without WORKER_METRICS_PORT has no listener: there is nothing to ask, and it
// counts as healthy while it runs (Docker only sees that the process is up).
// The config modules are imported on demand and by path: each image holds only its own service, and the
// workspace packages are not linked at the repository root there.

type Target = { host: string; port: number } | undefined

async function target(service: string | undefined): Promise<Target> {
  if (service === 'token') {
    const { loadTokenConfig, probePortOf } = await import('../../services/token/src/config.ts')
    const c = loadTokenConfig()
    return { host: c.HOST, port: probePortOf(c) }
  }
  if (service === 'analytics') {
    const { loadAnalyticsConfig, probePortOf } = await import('../../services/analytics/src/config.ts')
    const c = loadAnalyticsConfig()
    const port = probePortOf(c)
    return port === undefined ? undefined : { host: c.HOST, port }
  }
  throw new Error(`usage: node infra/docker/healthcheck.ts token|analytics (got ${service})`)
}

/** A wildcard listen address is reached on loopback; an IPv6 literal needs brackets in a URL. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::') return '[::1]'
  return host.includes(':') ? `[${host}]` : host
}

try {
  const t = await target(process.argv[2])
  if (t === undefined) process.exit(0)
  const res = await fetch(`http://${urlHost(t.host)}:${t.port}/health/ready`, {
    signal: AbortSignal.timeout(3000),
  })
  process.exit(res.ok ? 0 : 1)
} catch (err) {
  console.error(`healthcheck: ${(err as Error).message}`)
  process.exit(1)
}
