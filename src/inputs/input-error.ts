/**
 * Bad input: a file or a field the user must fix. Carries the file and the field so every client
 * shows the same one-line message, and the CLI exits 2 before any trial starts.
 */
import type { z } from 'zod';

export class InputError extends Error {
  override readonly name = 'InputError';

  constructor(
    readonly file: string,
    readonly problems: string[],
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problems.join('; ')}`, options);
  }
}

/** `nodes[2].gpu_count` from zod's path array. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text ? `${text}.${String(key)}` : String(key);
  }, '');
}

/** Turns a zod error into "field: problem" lines that name the user's own keys. */
export function describeZodIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return error.issues.map((issue) => {
    const field = formatFieldPath([...prefix, ...issue.path]);
    return field ? `${field}: ${issue.message}` : issue.message;
  });
}
