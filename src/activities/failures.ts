/**
 * Errors classified on purpose before they cross into Temporal: bad input and broken trust (host
 * keys, refused logins) must not be retried; a rig that cannot be reached may be.
 */
import { ApplicationFailure } from '@temporalio/common';
import { InputError } from '../inputs/input-error';
import { HostKeyError, SshAuthError, SshConnectError } from '../rigs/ssh-errors';

export function toApplicationFailure(error: unknown): unknown {
  if (error instanceof InputError || error instanceof HostKeyError || error instanceof SshAuthError) {
    return ApplicationFailure.create({ type: error.name, message: error.message, nonRetryable: true, cause: error });
  }
  if (error instanceof SshConnectError) {
    return ApplicationFailure.create({ type: error.name, message: error.message, cause: error });
  }
  return error;
}

/** Runs an activity body, converting known errors on the way out. */
export async function classified<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw toApplicationFailure(error);
  }
}

/** Errors of a host's disk or folder that its operator can fix: the sweep waits for them, and says why. */
const HOST_TROUBLE: Record<string, string> = {
  ENOSPC: 'its disk is full',
  EDQUOT: 'its disk quota is used up',
  EROFS: 'its file system is read-only',
  EACCES: 'a folder is not writable',
  EPERM: 'a folder is not writable',
  EIO: 'its disk reports I/O errors',
};

/** What a person reads about a host trouble (`its disk is full (ENOSPC): write …`), or null for any other error. */
export function hostTrouble(error: unknown): string | null {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !(code in HOST_TROUBLE)) return null;
  return `${HOST_TROUBLE[code]} (${code}): ${(error as Error).message}`;
}
