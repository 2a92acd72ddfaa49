/**
 * deploy/kubernetes as Kubernetes sees it: each overlay rendered by `kubectl kustomize` (kubectl
 * 1.32 bundles kustomize 5.5; Debian: apt-get install kubectl). Without kubectl the rendered
 * checks skip, except under CI=true (.ci/run installs it), where a missing kubectl fails.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const KUBERNETES_DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));

/** Every overlay, each a deployment one `kubectl apply -k` makes. */
export const OVERLAYS = ['standalone', 'sidecar', 'keda'] as const;

export interface Container {
  name: string;
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string }; configMapKeyRef?: { name: string } } }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
}

export interface Probe {
  httpGet?: { path?: string; port?: string | number };
}

export interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
  spec?: {
    scaleTargetRef?: { name?: string };
    triggers?: Array<{ type: string; metadata?: { query?: string } }>;
    template?: {
      metadata?: { annotations?: Record<string, string> };
      spec?: { terminationGracePeriodSeconds?: number; containers?: Container[]; volumes?: Array<{ configMap?: { name: string }; secret?: { secretName: string } }> };
    };
  };
}

export const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

/** Skips (or under CI fails) a test that needs kubectl; true when it may go on. */
export function needKubectl(ctx: { skip: (note: string) => void }): boolean {
  if (kubectl) return true;
  if (process.env.CI === 'true') throw new Error('kubectl is not installed (CI=true: apt-get install kubectl)');
  ctx.skip('kubectl is not installed (apt-get install kubectl): the overlays are not rendered');
  return false;
}

const cache = new Map<string, Manifest[]>();

/** The objects `kubectl kustomize overlays/<overlay>` renders. */
export function render(overlay: string): Manifest[] {
  let docs = cache.get(overlay);
  if (docs === undefined) {
    const run = spawnSync('kubectl', ['kustomize', `overlays/${overlay}`], { cwd: KUBERNETES_DIR, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`kubectl kustomize overlays/${overlay} failed:\n${run.stderr}`);
    docs = parseAllDocuments(run.stdout).map((d) => d.toJS() as Manifest);
    cache.set(overlay, docs);
  }
  return docs;
}

/** The pod templates of a rendering, by their workload's name. */
export function pods(docs: readonly Manifest[]): Array<{ name: string; template: NonNullable<NonNullable<Manifest['spec']>['template']> }> {
  return docs.filter((d) => d.spec?.template?.spec?.containers !== undefined).map((d) => ({ name: d.metadata?.name ?? '?', template: d.spec?.template ?? {} }));
}

/** OpenHQM containers, by the configuration they are given. */
export function openhqmContainers(containers: readonly Container[]): Container[] {
  return containers.filter((c) => c.env?.some((e) => e.name.startsWith('OPENHQM_')) === true);
}

/** The openhqm.yaml of a rendering (the generated openhqm-config ConfigMap). */
export function openhqmYaml(docs: readonly Manifest[]): string {
  const map = docs.find((d) => d.kind === 'ConfigMap' && d.metadata?.name?.startsWith('openhqm-config') === true);
  const yaml = map?.data?.['openhqm.yaml'];
  if (yaml === undefined) throw new Error('no openhqm-config ConfigMap with openhqm.yaml in the rendering');
  return yaml;
}
