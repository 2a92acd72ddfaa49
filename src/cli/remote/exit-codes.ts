/**
 * Exit codes of the commands that call a running gateway, so a script can tell "the server
 * said no" (fix the input or the credential) from "no server" (retry later) without parsing
 * text. 0, 1 and 2 mean what they mean for every `openhqm` command.
 *
 * @module
 */
export const EXIT = {
  ok: 0,
  /** Something unexpected in the CLI itself. */
  failure: 1,
  /** The command line was wrong before any call (a bad --url, a --body file that is not JSON). */
  usage: 2,
  /** The server answered 4xx: unknown id (or another tenant's), no or wrong credential, bad filter, too late to cancel. */
  refused: 3,
  /** No answer: connection refused, unknown host, TLS failure, or the --timeout-ms deadline. */
  unreachable: 4,
  /** The server answered 5xx (a backend unavailable), or something that is not this API. */
  serverError: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
