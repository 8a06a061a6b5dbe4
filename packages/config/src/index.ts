export { ConnectionSpec } from './connection-spec.ts'
export { ConfigError, type ConfigOf, loadConfig } from './load.ts'
export {
  boolean,
  duration,
  hostList,
  integer,
  oneOf,
  optionalInteger,
  optionalSecret,
  optionalString,
  originList,
  port,
  rateLimit,
  string,
  trustProxy,
  url,
} from './parsers.ts'
export { startupFailure } from './startup-failure.ts'
