/**
 * Where each piece of a sweep's work runs. The sweep's files live on its results host, and its
 * localhost nodes are that host's own GPUs: both go to the results host's own task queue. Rigs
 * are reached over SSH from any worker, so their work goes to the shared queue every worker polls.
 */
import { workflowInfo } from '@temporalio/workflow';
import { fullWorkersQueue, resultsHostQueue } from '../shared/names';
import type { SweepInput } from '../shared/sweep-input';
import type { SweepPlan } from '../shared/sweep-plan';
import type { SweepNode } from '../shared/nodes';

/** Activity options that send the work to `taskQueue`; none keeps the workflow's own queue. */
type QueueOption = { taskQueue?: string; allowEagerDispatch?: boolean };

/** Planning: on the named results host, else on whichever full worker asks first. */
export function planningQueue(input: SweepInput): QueueOption {
  const shared = workflowInfo().taskQueue;
  return { taskQueue: input.resultsHost ? resultsHostQueue(shared, input.resultsHost) : fullWorkersQueue(shared) };
}

/** The run folder's reads and writes. Plans made before results hosts keep the shared queue. */
export function filesQueue(plan: Pick<SweepPlan, 'resultsHost'>): QueueOption {
  return plan.resultsHost ? { taskQueue: resultsHostQueue(workflowInfo().taskQueue, plan.resultsHost) } : {};
}

/**
 * Work on `node`: a localhost node is the results host's; a rig, any worker's. Not eagerly: the
 * worker that completes the workflow task would otherwise take the rig work itself whenever it
 * has a free slot, and other workers would get none while it lives.
 */
export function nodeQueue(plan: Pick<SweepPlan, 'resultsHost'>, node: Pick<SweepNode, 'isLocal'>): QueueOption {
  return node.isLocal ? filesQueue(plan) : { allowEagerDispatch: false };
}
