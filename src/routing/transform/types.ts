/** What a transform runs with: the jq threads of its caller, and the cap on what it builds. */
export interface TransformContext {
  /** Live traffic and the route simulator each have their own, so one cannot delay the other. */
  readonly jq: JqRunner;
  /** Largest body (as compact JSON, in UTF-8 bytes) a transform may build. */
  readonly maxOutputBytes: number;
}

/** A compiled transform: the whole message in, the upstream body out. */
export type Transform = (message: unknown, ctx: TransformContext) => Promise<unknown>;

export type JqAnswer =
  | { readonly ok: true; readonly out: string }
  | { readonly ok: false; readonly exitCode: number | undefined; readonly text: string }
  | { readonly ok: false; readonly tooLarge: true };

/** Runs jq programs off the event loop (transform/jq.ts). */
export interface JqRunner {
  /**
   * The program's first output on `json`; rejects when it runs too long, or (a retryable
   * HqmError) when no thread is free within `waitMs` (the runner's own budget by default).
   */
  run(json: string, program: string, maxOutputBytes: number, waitMs?: number): Promise<JqAnswer>;
}

/** Raised at load time for a transform that does not compile; `message` says why. */
export class TransformCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformCompileError';
  }
}

/** A transform built a body larger than routing.max_transform_output_bytes. */
export class OutputTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the transform's output is larger than ${maxBytes} bytes (routing.max_transform_output_bytes; raise it to allow larger bodies)`);
    this.name = 'OutputTooLargeError';
  }
}

/**
 * Longest a transform may run on one message before it fails (JSONata's guard, jq's thread
 * is terminated): a transform is a reshaping, never a computation, so this only stops
 * programs that do not end.
 */
export const TRANSFORM_TIMEOUT_MS = 1000;

/** Default of routing.max_transform_output_bytes. */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
