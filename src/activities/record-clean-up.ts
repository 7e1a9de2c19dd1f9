/**
 * The rigs' end records (rigs/end-record.ts) are only needed until their jobs are on record: the
 * results host removes those of recorded jobs as it records them, and all of a sweep's once its
 * Results JSON is written. Best effort, with a short timeout: a node away now keeps its records
 * until a later sweep's start prunes the week-old ones.
 */
import type { SweepNode } from '../shared/nodes';
import type { NodeShell } from '../rigs/node-shell';
import { NODE_STATE_DIR } from '../rigs/node-permits';
import { removeJobRecordsCommand, removeSweepRecordsCommand } from '../rigs/end-record';

const CLEAN_UP_TIMEOUT_MS = 10_000;

/** Removes the records of `jobIds` of sweep `sweepId` on each node that ran some of them. */
export async function removeRecordedJobs(
  shellFor: (node: SweepNode) => NodeShell,
  sweepId: string,
  nodes: SweepNode[],
  jobs: { job_id: string; node: string }[],
): Promise<void> {
  await Promise.all(
    nodes.map((node) => {
      const jobIds = jobs.filter((job) => job.node === node.name).map((job) => job.job_id);
      return quietly(shellFor, node, removeJobRecordsCommand(NODE_STATE_DIR, sweepId, jobIds));
    }),
  );
}

/** Removes every record of sweep `sweepId` left on its nodes. */
export async function removeSweepRecords(shellFor: (node: SweepNode) => NodeShell, sweepId: string, nodes: SweepNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => quietly(shellFor, node, removeSweepRecordsCommand(NODE_STATE_DIR, sweepId))));
}

async function quietly(shellFor: (node: SweepNode) => NodeShell, node: SweepNode, command: string): Promise<void> {
  try {
    await shellFor(node).run(command, { timeoutMs: CLEAN_UP_TIMEOUT_MS });
  } catch {
    // Left for the week-old prune.
  }
}
