/**
 * `openhqm keys create --tenant T [--role submit] [--id NAME]`: makes a new API key, prints it
 * once, and prints the entry to add to auth.api_keys or the auth.api_keys_file list. Only the
 * key's SHA-256 goes into the configuration; the key itself is stored nowhere by OpenHQM.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { generateApiKey, sha256Hex } from '../../auth/api-keys.js';
import { isRole, ROLES, TENANT_PATTERN } from '../../core/access.js';

interface KeysFlags {
  readonly tenant?: string;
  readonly role: string[];
  readonly id?: string;
  readonly json?: boolean;
}

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('manage API keys (auth.api_keys)');
  keys
    .command('create')
    .description('make a new API key: print it once, and the entry (with its SHA-256, not the key) to add to auth.api_keys or auth.api_keys_file')
    .option('--tenant <tenant>', 'the tenant whose requests the key submits and reads (required unless --role admin)')
    .option('--role <role>', `a role of the key: ${ROLES.join(', ')} (repeat for several; default submit)`, (value: string, all: string[]) => [...all, value], [])
    .option('--id <id>', 'a name for the key in logs (default: key-<random>)')
    .option('--json', 'print {id, key, key_sha256, tenant, roles} as JSON')
    .action((flags: KeysFlags) => {
      const problem = check(flags);
      if (problem !== undefined) {
        process.stderr.write(`openhqm: ${problem}\n`);
        process.exit(2);
      }
      const roles = flags.role.length === 0 ? ['submit'] : [...new Set(flags.role.map((r) => r.toLowerCase()))];
      const key = generateApiKey();
      const entry = { id: flags.id ?? `key-${randomBytes(4).toString('hex')}`, key_sha256: sha256Hex(key), tenant: flags.tenant ?? null, roles };
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify({ ...entry, key })}\n`);
        return;
      }
      process.stdout.write(
        [
          '# The new API key. It is shown this once and kept nowhere: give it to its user now.',
          key,
          '# Add this entry to auth.api_keys, or to the list in auth.api_keys_file (re-read without a restart):',
          // JSON is YAML too: one line that pastes into either file.
          `- ${JSON.stringify(entry)}`,
          '',
        ].join('\n'),
      );
    });
}

function check(flags: KeysFlags): string | undefined {
  const bad = flags.role.find((r) => !isRole(r.toLowerCase()));
  if (bad !== undefined) return `unknown role "${bad}" (roles: ${ROLES.join(', ')})`;
  const admin = flags.role.some((r) => r.toLowerCase() === 'admin');
  if (flags.tenant === undefined && !admin) return '--tenant is required (only an admin key may have no tenant)';
  if (flags.tenant !== undefined && !TENANT_PATTERN.test(flags.tenant)) return `--tenant "${flags.tenant}" is not a tenant name: letters, digits, ".", "_" or "-", at most 64, starting with a letter or digit`;
  if (flags.id !== undefined && !/^[A-Za-z0-9._:@-]{1,128}$/.test(flags.id)) return `--id "${flags.id}": expected 1–128 letters, digits or . _ : @ -`;
  return undefined;
}
