/** A compiled transform: the whole message in, the upstream body out. */
export type Transform = (message: unknown) => Promise<unknown>;

/** Raised at load time for a transform that does not compile; `message` says why. */
export class TransformCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformCompileError';
  }
}

/**
 * Longest a transform may run on one message before it fails (JSONata's guard, jq's thread
 * is terminated): a transform is a reshaping, never a computation, so this only stops
 * programs that do not end.
 */
export const TRANSFORM_TIMEOUT_MS = 1000;
