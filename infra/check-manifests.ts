// `pnpm check:infra`: the deployment files (images, compose, nginx, Kubernetes) against what the code
// exports, so that what can rot cannot drift silently: variable names, ports, probe paths, grace periods
// and entry files. Prints what it checked, then every problem; exits 1 when there is any.
import { checkManifests } from './check/manifests.ts'
import { root } from './check/yaml-files.ts'

process.exitCode = checkManifests(root).print()
