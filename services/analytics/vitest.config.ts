import { defineProject } from 'vitest/config'

// Property tests drive hundreds of requests each; on a loaded 2-core CI machine 5 s is not enough.
export default defineProject({ test: { name: 'analytics', testTimeout: 30_000, hookTimeout: 60_000 } })
