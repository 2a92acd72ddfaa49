import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from './schema.js';

describe('docs/configuration.md', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const defaults = configSchema.parse({});

  it('documents every key with its environment variable', () => {
    for (const [section, keys] of Object.entries(defaults)) {
      for (const key of Object.keys(keys)) {
        const env = `OPENHQM_${section.toUpperCase()}__${key.toUpperCase()}`;
        // A nested section documents its keys' variables, which all start with the section's.
        expect(doc, `${section}.${key}`).toMatch(new RegExp(`\\| \`${section}\\.${key}\` \\| \`${env}(\`|__)`));
      }
    }
  });

  it('documents no key the schema does not have', () => {
    const documented = [...doc.matchAll(/^\| `([a-z_]+)\.([a-z_]+)` \|/gm)].map((m) => [m[1], m[2]] as const);
    for (const [section, key] of documented) {
      const known = (key ?? '') in ((defaults as Record<string, object>)[section ?? ''] ?? {}) || (section === 'queue' && key === 'max_message_bytes');
      expect(known, `${section}.${key}`).toBe(true);
    }
  });
});
