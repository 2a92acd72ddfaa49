// Lint rules that keep a queue from losing messages (floating promises), keep types honest,
// and enforce the import boundaries of the layered layout (see docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Forbids imports of the given layers from the files of one layer. */
const boundary = (files, layers, why) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: layers.map((layer) => ({ group: [`**/${layer}/**`], message: why })) },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', '.bench/**', 'packages/*/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'off',
      // Port implementations are async by contract even when an adapter has nothing to await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['test/**/*.ts', '**/*.test.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  // The client package ships with no dependencies: platform globals (fetch, WebCrypto, streams) and its own modules only.
  {
    files: ['packages/client/src/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./)', message: 'the client has no dependencies: use the platform (fetch, WebCrypto) or a module of its own' }] }] },
  },
  boundary(['src/core/**'], ['ports', 'adapters', 'api', 'worker', 'routing', 'proxy', 'observability', 'config', 'app', 'cli', 'dashboard'], 'core is the domain: it imports no other layer'),
  boundary(['src/ports/**'], ['adapters', 'api', 'worker', 'routing', 'proxy', 'observability', 'config', 'app', 'cli'], 'ports depend on core only'),
  boundary(['src/adapters/**'], ['api', 'worker', 'routing', 'proxy', 'observability', 'config', 'app', 'cli'], 'adapters depend on core and ports only'),
  boundary(['src/routing/**'], ['adapters', 'api', 'worker', 'proxy', 'observability', 'config', 'app', 'cli'], 'routing depends on core and ports only'),
  boundary(['src/proxy/**'], ['adapters', 'api', 'worker', 'observability', 'config', 'app', 'cli'], 'the proxy depends on core, ports and routing only; its HTTP client is injected'),
  boundary(['src/worker/**'], ['adapters', 'api', 'config', 'app', 'cli'], 'the worker gets its backends injected'),
  boundary(['src/api/**'], ['adapters', 'worker', 'proxy', 'config', 'app', 'cli', 'dashboard'], 'the API gets plain options and injected backends'),
  boundary(['src/observability/**'], ['ports', 'adapters', 'api', 'worker', 'routing', 'proxy', 'config', 'app', 'cli'], 'observability depends on core only'),
  boundary(['src/config/**'], ['ports', 'adapters', 'api', 'worker', 'routing', 'proxy', 'observability', 'app', 'cli'], 'config depends on core only'),
  boundary(['src/app/**'], ['cli'], 'nothing imports the CLI'),
  // The dashboard's server side only serves the built page; every figure on it comes from the HTTP API.
  boundary(['src/dashboard/**'], ['ports', 'adapters', 'api', 'worker', 'routing', 'proxy', 'observability', 'config', 'app', 'cli', 'webhooks', 'auth', 'conformance'], 'the dashboard serves files: core only; app/ mounts it'),
  boundary(['src/webhooks/**'], ['adapters', 'api', 'worker', 'routing', 'proxy', 'observability', 'config', 'app', 'cli', 'dashboard'], 'webhooks depend on core and ports only; the sender is injected'),
  boundary(['src/auth/**'], ['ports', 'adapters', 'api', 'worker', 'routing', 'observability', 'config', 'app', 'cli', 'dashboard'], 'auth verifies credentials: core and its libraries only; api/ and app/ use it'),
  // The conformance suites (`openhqm/conformance`) are test code shipped for adapter authors: they test a backend through its
  // port, so they see core and ports (and vitest, an optional peer) only.
  boundary(['src/conformance/**'], ['adapters', 'api', 'worker', 'routing', 'proxy', 'observability', 'config', 'app', 'cli', 'dashboard', 'webhooks', 'auth'], 'the conformance suites test a backend through its port: core and ports only'),
  // ...and the gateway never loads them, nor vitest. A rule of its own (the typescript-eslint twin of
  // no-restricted-imports), so it adds to each layer's boundary above instead of replacing it.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/conformance/**', 'src/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/conformance/**', 'openhqm/conformance'], message: 'the conformance suites are for tests only: the gateway never loads them' },
          { group: ['vitest', 'vitest/**'], message: 'vitest is an optional peer dependency: only tests and src/conformance import it' },
        ],
      }],
    },
  },
);
