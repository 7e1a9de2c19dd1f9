/**
 * What a running sweep shows: the progress the `progress` query answers (`rigsweep watch`,
 * `status`), the line Temporal Web shows as its current details, and each node's state. Derived
 * from the state, never stored beside it. Pure code.
 */
import type { NodeProgress, NodeState, SweepProgress } from '../progress';
import { excludedGpus, probeVerdict } from './service';
import type { SweepState } from './state';

export function progressOf(state: SweepState, afterSeq = 0): SweepProgress {
  const { counts } = state;
  return {
    phase: state.phase,
    sweepName: state.sweepName,
    startedAtMs: state.startedAtMs,
    resultsDir: state.plan?.resultsDir ?? null,
    runId: state.plan?.runId ?? null,
    pauseRequested: state.steering.pauseRequested,
    settings: state.settings,
    nodes: nodesOf(state),
    batch: state.shown?.number ?? 0,
    batchCount: state.batchCount,
    totalJobs: state.plan?.totalJobs ?? 0,
    done: counts.done,
    failed: counts.failed,
    running: counts.running,
    retries: counts.retries,
    events: state.log.events.filter((event) => event.seq > afterSeq),
    lastSeq: state.log.seq,
  };
}

/** One line a person reads in Temporal Web, e.g. `batch 2/3 running: 25/50 done, 1 failed, 6 running`. */
export function detailsOf(state: SweepState): string {
  const { counts } = state;
  const batch = state.shown?.number ?? 0;
  const where = batch ? `batch ${batch}/${state.batchCount} ${state.phase}` : state.phase;
  const line = `${counts.done}/${state.plan?.totalJobs ?? 0} done, ${counts.failed} failed, ${counts.running} running${counts.retries ? `, ${counts.retries} retried` : ''}`;
  const pause = state.steering.pauseRequested && state.phase !== 'paused' ? ' (pause requested: pauses after this batch)' : '';
  return `${where}: ${line}${pause}${state.waitingFor ? ` — waiting for ${state.waitingFor}` : ''}`;
}

export function nodesOf(state: SweepState): NodeProgress[] {
  const busy = new Map<string, Set<number>>();
  for (const work of Object.values(state.work)) {
    if (work.kind === 'job' && work.counted) busy.set(work.node, (busy.get(work.node) ?? new Set()).add(work.gpu));
  }
  return state.allNodes.map((node) => {
    const runtime = state.nodes[node.name];
    const excluded = excludedGpus(state, node);
    const gpus = [...(busy.get(node.name) ?? [])].sort((a, b) => a - b);
    return {
      name: node.name,
      gpuCount: node.gpuCount,
      busyGpus: gpus,
      excludedGpus: excluded,
      state: probeVerdict(state, node.name) ?? stateOf(runtime.leftOutByPreflight, runtime.upkeep, excluded.length === node.gpuCount, gpus.length > 0),
      done: runtime.done,
      failed: runtime.failed,
      lastFinished: runtime.lastFinished,
    };
  });
}

function stateOf(leftOut: boolean, upkeep: NodeState | null, wholeNodeExcluded: boolean, busy: boolean): NodeState {
  if (leftOut) return 'left out';
  if (upkeep) return upkeep;
  if (wholeNodeExcluded) return 'excluded';
  return busy ? 'running' : 'ok';
}
