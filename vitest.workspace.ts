import { defineConfig } from 'vitest/config'

// Vitest 4+ dropped the workspace file format; this file is the root config and lists the projects.
export default defineConfig({
  test: {
    projects: [
      'services/*',
      'packages/*',
      'infra',
      {
        // The token service's Redis-heavy tests once more, on a real 3-master Redis Cluster started by the setup.
        extends: './services/token/vitest.config.ts',
        test: {
          name: 'token-cluster',
          root: './services/token',
          include: [
            'test/rotation.test.ts',
            'test/sessions.test.ts',
            'test/events.test.ts',
            'test/rate-limit.test.ts',
            'test/risk-loop.test.ts',
            'test/cluster.test.ts',
          ],
          globalSetup: ['./test/helpers/cluster-setup.ts'],
        },
      },
    ],
  },
})
