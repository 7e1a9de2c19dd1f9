/**
 * Starts a sweep, or attaches to the one already running under the same id. A finished sweep with
 * that id is history, not something to attach to: the next free id `<id>-2`, `-3`, ... is used.
 */
import { type Client, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { WORKFLOW_TYPE } from '../shared/names';
import type { ResultsJson } from '../shared/results';
import type { SweepInput } from '../shared/sweep-input';

export interface StartedSweep {
  handle: WorkflowHandle;
  workflowId: string;
  attached: boolean;
}

export async function startOrAttach(client: Client, taskQueue: string, baseId: string, input: SweepInput): Promise<StartedSweep> {
  for (let n = 1; ; n++) {
    const workflowId = n === 1 ? baseId : `${baseId}-${n}`;
    const handle = client.workflow.getHandle(workflowId);
    try {
      const description = await handle.describe();
      if (description.status.name === 'RUNNING') return { handle, workflowId, attached: true };
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      const started = await client.workflow.start<(input: SweepInput) => Promise<ResultsJson>>(WORKFLOW_TYPE, {
        taskQueue,
        workflowId,
        args: [input],
        // Two invocations racing for the same id end up on one sweep.
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      return { handle: started, workflowId, attached: false };
    }
  }
}
