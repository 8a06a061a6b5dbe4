// `pnpm check:infra`: parses every YAML file under infra/ and checks that the images, the compose file and
// the Kubernetes manifests match what the services actually read and run (their config specs, entry files,
// ports, health routes, stream and consumer group), so the deployment files cannot rot silently.
// Prints what it checked, then every problem; exits 1 when there is any.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type AppName, checkHealthRoutes, loadApps, root } from './check/apps.ts'
import { checkCompose } from './check/compose.ts'
import { checkImage, type Image } from './check/dockerfile.ts'
import { checkKubernetes } from './check/k8s.ts'
import { obj, Report } from './check/report.ts'
import { parseYamlFiles, yamlFiles } from './check/yaml-files.ts'

const report = new Report()
const docs = parseYamlFiles(report, yamlFiles('infra'))

const apps = loadApps(report)
checkHealthRoutes(report, apps)
const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  packageManager: string
}
const images = new Map<AppName, Image>(apps.map((app) => [app.name, checkImage(report, app, packageManager)]))

for (const doc of docs.filter((d) => !d.file.startsWith('infra/k8s/') && obj(obj(d.value)?.services)))
  checkCompose(report, doc, apps, images)
checkKubernetes(
  report,
  docs.filter((d) => d.file.startsWith('infra/k8s/')),
  apps,
  images,
)

process.exitCode = report.print()
