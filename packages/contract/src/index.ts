export { Session, TokenPair } from './shapes.ts'
