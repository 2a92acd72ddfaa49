/** The Kubernetes manifests and the Dockerfile stay consistent with the configuration schema. */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../src/config/load.js';

interface Manifest {
  kind?: string;
  resources?: string[];
  data?: Record<string, string>;
  spec?: { template?: { spec?: { containers?: Container[] } } };
}

const DIR = new URL('../deploy/kubernetes/', import.meta.url);
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const docs = files.flatMap((file) => parseAllDocuments(readFileSync(new URL(file, DIR), 'utf8')).map((d) => ({ file, doc: d.toJS() as Manifest })));

interface Container {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
}

function containers(): Array<{ file: string; container: Container }> {
  return docs.flatMap(({ file, doc }) => (doc.spec?.template?.spec?.containers ?? []).map((container) => ({ file, container })));
}

describe('deploy/kubernetes', () => {
  it('parses, and kustomization lists every manifest', () => {
    const kustomization = docs.find((d) => d.doc.kind === 'Kustomization')?.doc;
    expect(new Set(kustomization?.resources)).toEqual(new Set(files.filter((f) => f !== 'kustomization.yaml')));
  });

  it('gives every OpenHQM container a configuration the schema accepts', () => {
    const configMap = docs.find((d) => d.doc.kind === 'ConfigMap')?.doc;
    const dir = mkdtempSync(join(tmpdir(), 'openhqm-deploy-'));
    const file = join(dir, 'openhqm.yaml');
    writeFileSync(file, configMap?.data?.['openhqm.yaml'] ?? '');
    const openhqm = containers().filter(({ container }) => container.env?.some((e) => e.name.startsWith('OPENHQM_')) === true);
    expect(openhqm.length).toBeGreaterThanOrEqual(2);
    for (const { container } of openhqm) {
      const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? 'redis://secret:6379']));
      env.OPENHQM_CONFIG = file;
      expect(() => loadConfig({ env }), container.name).not.toThrow();
      expect(['api', 'worker', 'start']).toContain(container.args?.[0]);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');

  it('builds in stages, runs as a non-root user, and checks health', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "dist\/cli\/main\.js"\]/);
  });
});
