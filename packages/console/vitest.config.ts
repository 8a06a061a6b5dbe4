import { defineProject } from 'vitest/config'

// Real-browser tests of the console (Chromium through playwright-core) against the real services; the global
// setup builds the console first when its sources changed (packages/console/scripts/build.ts).
export default defineProject({
  test: {
    name: 'console',
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/helpers/build-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
