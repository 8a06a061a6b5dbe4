import { ensureConsoleBuilt } from '../../scripts/build.ts'

/** Vitest global setup: the tests drive the production build, made here when dist/ is older than the sources. */
export default async function setup(): Promise<void> {
  await ensureConsoleBuilt()
}
