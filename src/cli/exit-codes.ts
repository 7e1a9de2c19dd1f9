/** The CLI's exit codes, the same for every command (listed in the README). */
export const EXIT = {
  ok: 0,
  someJobsFailed: 1,
  badInput: 2,
  cancelled: 3,
  temporalUnreachable: 4,
} as const;

/** An error that ends the CLI with a given code and a one-line message (no stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
