import type { Migration } from 'kysely/migration'
import * as initial from './001-initial.ts'
import * as lighterIngestIndexes from './002-lighter-ingest-indexes.ts'
import * as recentHistory from './003-recent-history-in-risk-rows.ts'
import * as eventsByBucket from './004-event-store-by-bucket.ts'
import * as dayBounds from './005-day-bounds-in-risk-rows.ts'
import * as binaryCollation from './006-binary-collation.ts'
import * as holderScore from './007-holder-score-in-risk-rows.ts'
import * as eventsByClient from './008-events-by-client.ts'
import * as relayLease from './009-relay-lease.ts'
import * as alertOutboxRetention from './010-alert-outbox-retention.ts'
import * as notifierDeliveries from './011-notifier-deliveries.ts'
import * as sweepState from './012-sweep-state-in-risk-rows.ts'

/** Applied in key order under the `analytics_migrations` history table. */
export const migrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-lighter-ingest-indexes': lighterIngestIndexes,
  '003-recent-history-in-risk-rows': recentHistory,
  '004-event-store-by-bucket': eventsByBucket,
  '005-day-bounds-in-risk-rows': dayBounds,
  '006-binary-collation': binaryCollation,
  '007-holder-score-in-risk-rows': holderScore,
  '008-events-by-client': eventsByClient,
  '009-relay-lease': relayLease,
  '010-alert-outbox-retention': alertOutboxRetention,
  '011-notifier-deliveries': notifierDeliveries,
  '012-sweep-state-in-risk-rows': sweepState,
}
