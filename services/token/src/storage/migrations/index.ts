import type { Migration } from 'kysely/migration'
import * as initial from './001-initial.ts'
import * as binaryCollation from './002-binary-collation.ts'
import * as deployment from './003-deployment-and-revocations.ts'
import * as userDisabled from './004-user-disabled.ts'
import * as signedRefreshTokens from './005-signed-refresh-tokens.ts'
import * as outboxRetention from './006-outbox-retention.ts'
import * as riskAlertRecords from './007-risk-alert-records.ts'
import * as sessionTokenHashes from './008-session-token-hashes.ts'

export const tokenMigrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-binary-collation': binaryCollation,
  '003-deployment-and-revocations': deployment,
  '004-user-disabled': userDisabled,
  '005-signed-refresh-tokens': signedRefreshTokens,
  '006-outbox-retention': outboxRetention,
  '007-risk-alert-records': riskAlertRecords,
  '008-session-token-hashes': sessionTokenHashes,
}
export const MIGRATION_TABLE = 'token'
