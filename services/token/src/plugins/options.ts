import type { TokenConfig } from '../config.ts'

/** What a plugin with background work takes: the config, and whether to run that work (tests may not). */
export type BackgroundOptions = { config: TokenConfig; background: boolean }
