/**
 * Builds the admin dashboard (this folder) into dist/dashboard/static, where the API process
 * serves it (src/dashboard/plugin.ts). Relative asset paths (`base: './'`), so the page works
 * under any control prefix; one script and one stylesheet, no inline code, so the page's
 * Content-Security-Policy needs no 'unsafe-inline'.
 *
 * `npx vite --config dashboard/vite.config.ts` serves the sources with hot reload at
 * http://localhost:5173/, passing /api to a running gateway (OPENHQM_URL, or :8000 here).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  publicDir: 'public',
  logLevel: 'warn',
  // Preact's automatic JSX runtime (the tsconfig says the same for the type check).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  server: { proxy: { '/api': process.env.OPENHQM_URL ?? 'http://127.0.0.1:8000' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/dashboard/static', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Every browser that runs ES2022 modules preloads them natively: no polyfill to ship.
    modulePreload: { polyfill: false },
    // Never inline an asset as a data: URL, which the Content-Security-Policy would refuse.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
