/**
 * jq transforms through jq-web (jq compiled to WebAssembly). jq-web runs a whole jq per call,
 * so a program is checked once at load (compile errors are exit code 3) and run per message;
 * it costs about a millisecond per call — JSONata is the fast alternative.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { TransformCompileError, type Transform } from './types.js';

interface JqWeb {
  raw(json: string, filter: string, flags?: string[]): string | undefined | null;
}

let loading: Promise<JqWeb> | undefined;

/** jq-web, loaded once and only when a route uses jq. */
function jqWeb(): Promise<JqWeb> {
  loading ??= createRequire(import.meta.url)('jq-web') as Promise<JqWeb>;
  return loading;
}

export async function compileJq(program: string): Promise<Transform> {
  const jq = await jqWeb();
  try {
    run(jq, 'null', program);
  } catch (error) {
    const exit = (error as { exitCode?: number }).exitCode;
    // 5 is a runtime error on the probe input (null): the program itself compiled.
    if (exit !== 5) throw new TransformCompileError(firstLine(error));
  }
  return async (message) => {
    let out: string | undefined | null;
    try {
      out = run(jq, JSON.stringify(message), program);
    } catch (error) {
      throw new Error(`jq failed: ${firstLine(error)}`);
    }
    const first = (out ?? '').split('\n').find((line) => line.trim() !== '');
    if (first === undefined) throw new Error('jq produced no output');
    return JSON.parse(first) as unknown;
  };
}

/**
 * jq-web's runtime sets `process.exitCode` to jq's exit status when it was unset before
 * (a failed filter would make the whole process exit non-zero later): put it back.
 */
function run(jq: JqWeb, json: string, program: string): string | undefined | null {
  const before = process.exitCode;
  try {
    return jq.raw(json, program, ['-c']);
  } finally {
    process.exitCode = before;
  }
}

function firstLine(error: unknown): string {
  const text = String((error as { stderr?: string }).stderr ?? (error as Error).message ?? error);
  return text.split('\n').find((line) => line.startsWith('jq: error')) ?? text.split('\n')[0] ?? text;
}
