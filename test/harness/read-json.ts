/** Reads a JSON file rigsweep (or a fixture) wrote, as the type its writer gives it. */
import { readFileSync } from 'node:fs';

/**
 * Unchecked on purpose: a test asserts the values it reads, so a file of the wrong shape fails
 * there. `T` should be the writer's own type where one exists (e.g. ResultsJson).
 */
export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
