import { checkCompose } from './compose.ts'
import { checkImage, type Image } from './dockerfile.ts'
import { checkKubernetes } from './k8s.ts'
import { checkMetrics } from './metrics.ts'
import { obj, Report } from './report.ts'
import { SERVICES } from './services.ts'
import { parseYamlFiles, yamlFiles } from './yaml-files.ts'

/** Every check over the manifests under `base`/infra (the repository, or a copy in a test). */
export function checkManifests(base: string): Report {
  const report = new Report()
  const docs = parseYamlFiles(report, yamlFiles('infra', base), base)
  const images = new Map<string, Image>(SERVICES.map((s) => [s.name, checkImage(report, s, base)]))
  for (const doc of docs.filter((d) => obj(obj(d.value)?.services))) checkCompose(report, doc, images, base)
  checkKubernetes(
    report,
    docs.filter((d) => d.file.startsWith('infra/k8s/')),
    images,
  )
  checkMetrics(report, docs, base)
  return report
}
