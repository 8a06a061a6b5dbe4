export { type Decoded, decodeAlert, decodeEvent, encodeEvent, newEvent, newRiskAlert } from './codec.ts'
export {
  EventData,
  EventType,
  Platform,
  RevokeReason,
  RiskAlert,
  RiskFactor,
  SESSION_EVENT_TYPES,
  SessionEvent,
  type SessionEventOf,
} from './schemas.ts'
