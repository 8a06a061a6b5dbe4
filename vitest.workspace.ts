import { defineConfig } from 'vitest/config'

// Vitest 4+ dropped the workspace file format; this file is the root config and lists the projects.
export default defineConfig({
  test: {
    projects: ['services/*', 'packages/*'],
  },
})
