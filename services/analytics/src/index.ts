// The analytics service's public entry for tools outside it (benchmarks, infra checks): its configuration
// and its connections, so none of them reaches into src/.
export {
  type AnalyticsConfig,
  AnalyticsConfigSpec,
  loadAnalyticsConfig,
  probePortOf,
  SHUTDOWN_DEADLINE_MS,
} from './config.ts'
export { type Connections, openConnections } from './connections.ts'
