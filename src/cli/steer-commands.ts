/**
 * `rigsweep pause|resume|set|exclude|readmit <workflow-id>`: steer a running sweep. The same
 * signals and updates work from any Temporal client (`temporal workflow signal --name pause`,
 * `temporal workflow update execute --name set --input '{"max_jobs_per_batch": 10}'`); the
 * workflow validates every change, and a rejected one leaves the sweep as it was.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { excludeUpdate, type NodeSelector, pauseSignal, readmitUpdate, resumeSignal, type SettingsChange, setUpdate } from '../shared/names';
import { handleFor } from './control-commands';
import { CliError, EXIT } from './exit-codes';

type Handle = Awaited<ReturnType<typeof handleFor>>['handle'];

async function withRunningSweep(workflowId: string, act: (handle: Handle) => Promise<string>): Promise<number> {
  const { handle, connection, description } = await handleFor(workflowId);
  try {
    if (description.status.name !== 'RUNNING') throw new CliError(`${workflowId} is not running (${description.status.name})`, EXIT.badInput);
    process.stdout.write(`${await act(handle)}\n`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      throw new CliError(`${workflowId} rejected the change: ${error.cause?.message ?? error.message}`, EXIT.badInput, { cause: error });
    }
    throw error;
  } finally {
    await connection.close();
  }
}

export function pauseCommand(workflowId: string): Promise<number> {
  return withRunningSweep(workflowId, async (handle) => {
    await handle.signal(pauseSignal);
    return `${workflowId}: pause requested — the current batch finishes, then no further batch starts until \`rigsweep resume\``;
  });
}

export function resumeCommand(workflowId: string): Promise<number> {
  return withRunningSweep(workflowId, async (handle) => {
    await handle.signal(resumeSignal);
    return `${workflowId}: resumed`;
  });
}

export interface SetFlags {
  maxJobsPerBatch?: number;
  maxJobsPerNodePerBatch?: number;
  cooldown?: number;
  stagger?: number;
  node?: string;
}

/** Prints the settings the sweep runs with after the change. */
export function setCommand(workflowId: string, flags: SetFlags): Promise<number> {
  const change: SettingsChange = {
    max_jobs_per_batch: flags.maxJobsPerBatch,
    max_jobs_per_node_per_batch: flags.maxJobsPerNodePerBatch,
    inter_batch_cooldown_seconds: flags.cooldown,
    stagger_delay: flags.stagger,
    node: flags.node,
  };
  const given = Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined)) as SettingsChange;
  return withRunningSweep(workflowId, async (handle) => {
    const settings = await handle.executeUpdate(setUpdate, { args: [given] });
    return `${workflowId}: settings for the batches still to come:\n${JSON.stringify(settings, null, 2)}`;
  });
}

export function excludeCommand(workflowId: string, selector: NodeSelector): Promise<number> {
  return withRunningSweep(workflowId, (handle) => handle.executeUpdate(excludeUpdate, { args: [selector] }).then((said) => `${workflowId}: ${said}`));
}

export function readmitCommand(workflowId: string, selector: NodeSelector): Promise<number> {
  return withRunningSweep(workflowId, (handle) => handle.executeUpdate(readmitUpdate, { args: [selector] }).then((said) => `${workflowId}: ${said}`));
}
