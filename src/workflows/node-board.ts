/**
 * Per node, what `rigsweep watch` draws on its line: busy GPUs, done and failed jobs, the last one
 * that finished, and the state — ok, running, resetting, cooling down, left out by pre-flight, or
 * excluded by an operator. Plain data, deterministic.
 */
import type { SweepNode } from '../shared/nodes';
import type { NodeProgress, NodeState } from '../shared/progress';
import type { JobResult } from '../shared/results';
import type { SweepCarry } from '../shared/sweep-carry';

/** A state that wins over what the board sees, e.g. a node its probe left out. */
type StateOverride = (node: string) => NodeState | undefined;

interface NodeRecord {
  node: SweepNode;
  busy: Set<number>;
  done: number;
  failed: number;
  lastFinished: NodeProgress['lastFinished'];
  /** Upkeep in progress on this node, if any. */
  upkeep: 'resetting' | 'cooling down' | null;
  leftOut: boolean;
}

export class NodeBoard {
  private readonly records = new Map<string, NodeRecord>();
  private readonly published = new Map<string, NodeState>();

  /** The sweep's nodes; those missing from `inService` were left out by pre-flight. */
  setNodes(all: SweepNode[], inService: SweepNode[]): void {
    for (const node of all) {
      const leftOut = !inService.some((candidate) => candidate.name === node.name);
      this.records.set(node.name, { node, busy: new Set(), done: 0, failed: 0, lastFinished: null, upkeep: null, leftOut });
    }
  }

  /** Takes over the counts of the previous run of the sweep. */
  restore(carried: SweepCarry['nodes']): void {
    for (const node of carried) {
      const record = this.records.get(node.name);
      if (record) Object.assign(record, { done: node.done, failed: node.failed, lastFinished: node.lastFinished, leftOut: node.state === 'left out' });
    }
  }

  gpuBusy(node: string, gpu: number, busy: boolean): void {
    const record = this.records.get(node);
    if (busy) record?.busy.add(gpu);
    else record?.busy.delete(gpu);
  }

  jobFinished(result: JobResult): void {
    const record = this.records.get(result.node);
    if (!record) return;
    record.done++;
    if (!result.success) record.failed++;
    record.lastFinished = { job_id: result.job_id, success: result.success, runtime: result.runtime };
  }

  setUpkeep(nodes: readonly string[], upkeep: NodeRecord['upkeep']): void {
    for (const name of nodes) {
      const record = this.records.get(name);
      if (record) record.upkeep = upkeep;
    }
  }

  /** Hands every node whose state changed since the last call to `publish` (the metrics gauge). */
  publishChanges(excludedGpus: (node: SweepNode) => number[], publish: (node: string, state: NodeState) => void, override?: StateOverride): void {
    for (const { name, state } of this.snapshot(excludedGpus, override)) {
      if (this.published.get(name) === state) continue;
      this.published.set(name, state);
      publish(name, state);
    }
  }

  snapshot(excludedGpus: (node: SweepNode) => number[], override?: StateOverride): NodeProgress[] {
    return [...this.records.values()].map((record) => {
      const excluded = excludedGpus(record.node);
      const state = override?.(record.node.name) ?? stateOf(record, excluded.length === record.node.gpuCount);
      return {
        name: record.node.name,
        gpuCount: record.node.gpuCount,
        busyGpus: [...record.busy].sort((a, b) => a - b),
        excludedGpus: excluded,
        state,
        done: record.done,
        failed: record.failed,
        lastFinished: record.lastFinished,
      };
    });
  }
}

function stateOf(record: NodeRecord, wholeNodeExcluded: boolean): NodeState {
  if (record.leftOut) return 'left out';
  if (record.upkeep) return record.upkeep;
  if (wholeNodeExcluded) return 'excluded';
  return record.busy.size > 0 ? 'running' : 'ok';
}
