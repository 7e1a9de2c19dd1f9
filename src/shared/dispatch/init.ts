/**
 * A sweep's state before it is planned, and the state once pre-flight is over: the nodes in
 * service, batches planned over them, the operators' numbers starting from the plan's. Pure code.
 */
import type { SweepNode } from '../nodes';
import { planBatches } from '../planner';
import type { SweepPlan } from '../sweep-plan';
import { emptyLanes } from './lanes';
import { CARRIED_EVENTS, MAX_CARRIED_WARNINGS, type NodeRuntime, type PlannedState, type SweepState } from './state';
import type { Step } from './step';

/** The state of a sweep that starts now (workflow time). */
export function initialState(startedAtMs: number): SweepState {
  return {
    phase: 'planning',
    sweepName: '',
    startedAtMs,
    plan: null,
    allNodes: [],
    settings: null,
    steering: { pauseRequested: false, excluded: {}, leftOut: {}, probeFailures: {}, quarantined: {}, replanNeeded: false },
    nextWork: 1,
    work: {},
    nodes: {},
    preflightStage: 'checks',
    warmups: {},
    batchesBegun: 0,
    batchCount: 0,
    batch: null,
    shown: null,
    between: null,
    cursor: 0,
    queue: [],
    unrecorded: [],
    timeline: [],
    counts: { done: 0, failed: 0, retries: 0, running: 0 },
    log: { events: [], seq: 0 },
    warnings: [],
    preflight: [],
    stoppedReason: null,
    waitingFor: null,
    timerAtMs: null,
    runDue: false,
    cancelled: false,
    cancelling: [],
    finalResults: null,
    over: false,
  };
}

export function nodeRuntime(node: SweepNode): NodeRuntime {
  return {
    lanes: emptyLanes(node),
    firstStarts: 0,
    cycleStarts: 0,
    cycle: null,
    awaitingStart: null,
    lastStartedAtMs: null,
    endedUnstartedAtMs: null,
    upkeep: null,
    reprobeAtMs: null,
    done: 0,
    failed: 0,
    lastFinished: null,
    leftOutByPreflight: false,
  };
}

/** The name users filter sweeps by: the jobs file's base name, else how the jobs were given. */
export function sweepNameOf(plan: SweepPlan): string {
  const source = plan.jobSource;
  if (source.kind !== 'file') return source.kind;
  return source.path
    .split('/')
    .pop()!
    .replace(/\.json$/i, '');
}

/** The plan as the plan activity made it: every node known, pre-flight still to come. */
export function takePlan(state: SweepState, plan: SweepPlan): void {
  state.plan = plan;
  state.allNodes = plan.nodes;
  state.sweepName = sweepNameOf(plan);
  for (const node of plan.nodes) state.nodes[node.name] = nodeRuntime(node);
}

/**
 * Pre-flight is over: nodes it could not reach are left out of the sweep (batches planned again
 * over the rest), and the operators' numbers start from the plan's.
 */
export function enterService(step: Step<PlannedState>, reachable: SweepNode[]): void {
  const { state } = step;
  const plan = state.plan;
  for (const node of plan.nodes) state.nodes[node.name].leftOutByPreflight = !reachable.includes(node);
  state.plan = reachable.length === plan.nodes.length ? plan : { ...plan, nodes: reachable, ...planBatches(plan.totalJobs, reachable.length, plan.batching) };
  const serving = Object.assign(state, {
    settings: {
      max_jobs_per_batch: plan.batching.max_jobs_per_batch,
      max_jobs_per_node_per_batch: plan.batching.max_jobs_per_node_per_batch,
      inter_batch_cooldown_seconds: plan.cooldownSeconds,
      stagger_delay: Object.fromEntries(reachable.map((node) => [node.name, node.staggerSeconds])),
    },
  });
  state.batchCount = step.policy().batchCount(serving);
  state.preflightStage = 'done';
  state.phase = 'running';
}

/**
 * The state a new run of the sweep begins from, after continue-as-new: the previous run's, with
 * its clock requests and its due flag cleared (timers do not cross runs), and the progress log
 * and warnings cut to what a follower and the result need.
 */
export function resumeState(carried: SweepState): SweepState {
  return {
    ...carried,
    runDue: false,
    timerAtMs: null,
    log: { events: carried.log.events.slice(-CARRIED_EVENTS), seq: carried.log.seq },
    warnings: carried.warnings.slice(-MAX_CARRIED_WARNINGS),
  };
}
