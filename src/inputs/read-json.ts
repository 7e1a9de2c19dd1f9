/** Reads a user's JSON file, turning "missing" and "not JSON" into InputErrors that name the file. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InputError } from './input-error';

export interface JsonFile {
  path: string;
  value: unknown;
  /** sha256 of the bytes, so a file changed under a running sweep is noticed. */
  digest: string;
}

export async function readJsonFile(path: string, what: string): Promise<JsonFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (error as Error).message;
    throw new InputError(path, [`cannot read ${what}: ${reason}`], { cause: error });
  }
  try {
    return { path, value: JSON.parse(bytes.toString('utf8')), digest: createHash('sha256').update(bytes).digest('hex') };
  } catch (error) {
    throw new InputError(path, [`${what} is not valid JSON: ${(error as Error).message}`], { cause: error });
  }
}
