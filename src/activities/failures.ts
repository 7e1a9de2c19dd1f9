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
