/** A compiled transform: the whole message in, the upstream body out. */
export type Transform = (message: unknown) => Promise<unknown>;

/** Raised at load time for a transform that does not compile; `message` says why. */
export class TransformCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformCompileError';
  }
}
