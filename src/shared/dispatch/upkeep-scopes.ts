/**
 * The two scopes the upkeep machine (upkeep.ts) runs for — the whole cluster between batches, one
 * node on its own rhythm — each with what it covers, how it speaks of itself in the log, the
 * timeline and the warnings, and where it keeps its place: the cluster in `state.between`, a node
 * in its runtime's `cycle`, under the step names it always had (carried states and the checks
 * read them). Pure code.
 */
import { isNodeOut } from './service';
import type { Between, NodeCycle, ServingState } from './state';
import { workOf, type Step } from './step';

/** The machine's stages, in order. */
export type Stage = Between['step'];

/** Where a scope is in the machine, with what its stage began. */
export type Place = Between;

export interface Scope {
  readonly kind: 'cluster' | 'node';
  /** Its place (null: no upkeep under way); the machine works on it and hands it back with `keep`. */
  readonly place: Place | null;
  keep(place: Place): void;
  /** The batch its timeline spans name; its log lines name the one before. */
  readonly batch: number;
  /** When it runs, for summaries and warnings: `before batch 3`, `after 6 jobs`. */
  readonly when: string;
  /** Whose upkeep a warning is about. */
  where(node: string): string;
  /** Added to its log lines and timeline spans: the node, for a node's own upkeep. */
  readonly tag: { node?: string };
  readonly coolsDown: boolean;
  /** Nothing of the sweep runs where the upkeep will. */
  drained(): boolean;
  /** The nodes to reset now; none when no reset is due. */
  resetNodes(): string[];
  resetting(): boolean;
  /** The nodes shown cooling down. */
  nodes(): string[];
  /** The cluster's upkeep only (`kind` 'cluster'), which also pauses if asked: the nodes it probes, and whether its probes still run. */
  readonly probes?: { nodes(): string[]; running(): boolean };
  /** The sweep's phase while a stage runs, when the whole cluster is in it. */
  entering(phase: 'resetting' | 'cooling down'): void;
}

/** Between batches, over every node: barrier's reset and cooldown when its policy says so, and every mode's pause and probes. */
export function clusterScope(step: Step<ServingState>): Scope {
  const { state } = step;
  const plan = state.plan;
  const policy = step.policy();
  const upkeep = policy.upkeepScope === 'cluster' && policy.upkeepDue(state);
  const batch = policy.batchNumber(state.batchesBegun);
  const names = () => plan.nodes.map((node) => node.name);
  return {
    kind: 'cluster',
    place: state.between,
    keep: () => undefined,
    batch,
    when: `before batch ${batch}`,
    where: () => `before batch ${batch}`,
    tag: {},
    coolsDown: upkeep,
    // Between batches nothing of the sweep runs: a batch is over only once its jobs have ended (flow.ts).
    drained: () => true,
    resetNodes: () =>
      upkeep && plan.resetBetweenBatches ? plan.nodes.filter((node) => !node.isLocal && !isNodeOut(state, node)).map((node) => node.name) : [],
    resetting: () => workOf(state, 'reset').some(([, work]) => !work.cycle),
    nodes: names,
    probes: {
      nodes: () =>
        plan.nodes
          .filter((node) => state.steering.quarantined[node.name] === undefined && state.steering.excluded[node.name] !== 'all')
          .map((node) => node.name),
      running: () => workOf(state, 'probe').some(([, work]) => !work.lost),
    },
    entering: (phase) => {
      state.phase = phase;
    },
  };
}

/** A node's names for the stages it keeps its place at. */
const NODE_STEPS: Partial<Record<Stage, NodeCycle['step']>> = { drain: 'draining', reset: 'resetting', cooldown: 'cooling' };
const STAGE_OF: Record<NodeCycle['step'], Stage> = { draining: 'drain', resetting: 'reset', cooling: 'cooldown' };

/** One node's own upkeep (rolling): drain, reset (not localhost, which has no allocator reset), cool down; no probe. */
export function nodeScope(step: Step<ServingState>, name: string): Scope {
  const { state, now } = step;
  const runtime = step.runtime(name);
  const node = step.node(name);
  const cycle = runtime.cycle;
  const when = `after ${runtime.cycleStarts} jobs`;
  return {
    kind: 'node',
    place: cycle && { ...cycle, step: STAGE_OF[cycle.step], sinceMs: cycle.sinceMs ?? now },
    keep(place) {
      // Done (a node rests at no other stage than these three).
      const stored = NODE_STEPS[place.step];
      if (!stored) {
        runtime.cycle = null;
        runtime.cycleStarts = 0;
        return;
      }
      runtime.cycle = { ...place, step: stored };
    },
    // A node's own upkeep runs inside a batch (segment), which its starts were in.
    batch: state.shown!.number,
    when,
    where: () => `${name} ${when}`,
    tag: { node: name },
    coolsDown: true,
    drained: () => Object.keys(runtime.lanes.seats).length === 0,
    resetNodes: () => (state.plan.resetBetweenBatches && !node.isLocal ? [name] : []),
    // Only its own: a mode with nodes' own upkeep has no cluster-wide reset.
    resetting: () => workOf(state, 'reset').some(([, work]) => work.node === name),
    nodes: () => [name],
    entering: () => undefined,
  };
}
