/**
 * Upkeep — drain, reset, cool down, probe — as one state machine that runs for one of two scopes
 * (upkeep-scopes.ts): the whole cluster before every batch but the first (barrier mode resets
 * every rig and cools the cluster down; every mode pauses there if asked and probes the nodes), or
 * one node on its own rhythm (rolling mode: a node that ran its cycle drains, resets and cools
 * down while the others keep working). A mode's policy says only which scope its upkeep has and
 * when it is due. Each scope keeps its place in the state, so the machine goes on across steps,
 * replays and continue-as-new.
 *
 * A node that fails its probe is left out of the next batch (its jobs go to the others) and
 * re-admitted once a probe passes; one that fails `quarantine_after` probes in a row is
 * quarantined. `node_health.on_failure` may instead wait for the node, or fail the sweep. Pure code.
 */
import type { NodeOutcome } from './events';
import { probed } from './service';
import type { ServingState, SweepState, Work } from './state';
import { workOf, type Step } from './step';
import { clusterScope, nodeScope, type Place, type Scope, type Stage } from './upkeep-scopes';

/** Before every batch but the first: the cluster's upkeep; true once the next batch may begin. */
export function clusterUpkeep(step: Step<ServingState>): boolean {
  if (step.state.batchesBegun === 0) return true;
  const place = (step.state.between ??= { step: 'pause', sinceMs: step.now });
  return runUpkeep(step, clusterScope(step), place);
}

/** A node's own upkeep is due (rolling): it starts nothing more until the machine is done. */
export function beginNodeUpkeep(step: Step<ServingState>, name: string): void {
  step.runtime(name).cycle = { step: 'draining', sinceMs: step.now };
}

/**
 * Moves a node's own upkeep, if it has one under way, on as far as it can go now. Once it is done
 * the node may start again at once: its `cycle` is cleared (dispatching.ts tries it next).
 */
export function nodeUpkeep(step: Step<ServingState>, name: string): void {
  const scope = nodeScope(step, name);
  const place = scope.place;
  if (place) runUpkeep(step, scope, place);
}

/** Some node resets or cools down on its own (it has drained): its batch is not over until that is done. */
export function someNodeInUpkeep(state: SweepState): boolean {
  return Object.values(state.nodes).some((runtime) => runtime.cycle?.step === 'resetting' || runtime.cycle?.step === 'cooling');
}

/**
 * A reset or probe the machine asked for reports back: its node is no longer shown in upkeep, the
 * reset gets its timeline span, and the outcome waits in its scope's place. The machine takes it
 * up in this step's run (flow.ts: the cluster's between batches, a node's in dispatch) — never
 * after a cancel, where the core runs no upkeep: it stops where it is, nothing new begins.
 */
export function upkeepOutcome(step: Step<ServingState>, work: Extract<Work, { kind: 'reset' | 'probe' }>, outcome: NodeOutcome): void {
  let scope: Scope = clusterScope(step);
  if (work.kind === 'reset') {
    if (work.cycle) scope = nodeScope(step, work.node);
    step.runtime(work.node).upkeep = null;
    step.state.timeline.push({ kind: 'reset', batch: scope.batch, node: work.node, start_ms: work.startedAtMs, end_ms: step.now, ok: outcome.ok });
  }
  const place = scope.place;
  // Stryker disable next-line ConditionalExpression: equivalent — an answer only comes while its scope's upkeep waits for it (a stage moves on once every node it asked has answered), so its place is there; the guard keeps a stray answer harmless.
  if (!place) return;
  (place.outcomes ??= {})[work.node] = outcome;
  scope.keep(place);
}

type Next = Stage | 'wait';

/** Runs the machine from the scope's place until it must wait; true once it is done. */
function runUpkeep(step: Step<ServingState>, scope: Scope, place: Place): boolean {
  for (;;) {
    const next = STAGES[place.step](step, place, scope);
    if (next === 'wait') break;
    if (next === 'done' && scope.kind === 'cluster' && step.state.steering.pauseRequested) {
      // Paused during the reset, cooldown or probes: the batch waits, and its upkeep runs afresh on resume.
      Object.assign(place, { step: 'pause', sinceMs: step.now, untilMs: undefined, started: undefined, failing: undefined });
      continue;
    }
    if (next === 'done') {
      place.step = 'done';
      scope.keep(place);
      return true;
    }
    Object.assign(place, { step: next, sinceMs: step.now, untilMs: undefined, started: undefined });
  }
  scope.keep(place);
  return false;
}

const STAGES: Record<Stage, (step: Step<ServingState>, place: Place, scope: Scope) => Next> = {
  // Only the cluster's upkeep enters this stage (a node's begins draining, and runUpkeep sends only
  // the cluster's back here); its place was set at the moment it did, so the span starts there.
  pause(step, place, scope) {
    const { state, now } = step;
    if (state.steering.pauseRequested) {
      state.phase = 'paused';
      return 'wait';
    }
    if (state.phase === 'paused') state.timeline.push({ kind: 'pause', batch: scope.batch, start_ms: place.sinceMs, end_ms: now });
    return 'drain';
  },

  drain: (_step, _place, scope) => (scope.drained() ? 'reset' : 'wait'),

  reset(step, place, scope) {
    const { state, now } = step;
    if (!place.started) {
      place.started = true;
      place.outcomes = {};
      place.nodes = scope.resetNodes();
      if (place.nodes.length === 0) return 'cooldown';
      scope.entering('resetting');
      // The rig keeps its own quiet window too, so no other sweep starts a job there during the cooldown.
      const cooldownSeconds = state.settings.inter_batch_cooldown_seconds;
      for (const name of place.nodes) {
        step.runtime(name).upkeep = 'resetting';
        step.begin({ kind: 'reset', node: name, startedAtMs: now, cycle: scope.kind === 'node' }, (work) => ({
          type: 'resetNode',
          work,
          node: step.node(name),
          cooldownSeconds,
          summary: `reset ${name} ${scope.when}`,
        }));
      }
      return 'wait';
    }
    if (scope.resetting()) return 'wait';
    // Set with `started`, as the stage asked for its work.
    for (const name of place.nodes!) {
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent — unreachable: the stage goes on once every reset it asked for has ended, and one ends without an answer only on a cancel, after which no upkeep runs; kept so a lost answer cannot crash the workflow.
      const outcome = place.outcomes![name] ?? { ok: false, message: 'reset failed: no answer' };
      step.log({ kind: 'reset', batch: scope.batch - 1, node: name, ...outcome });
      if (!outcome.ok) step.warn(`${scope.where(name)}: ${name}: ${outcome.message}`);
    }
    return 'cooldown';
  },

  cooldown(step, place, scope) {
    const { state, now } = step;
    const seconds = state.settings.inter_batch_cooldown_seconds;
    if (!scope.coolsDown || seconds <= 0) return 'probe';
    if (place.untilMs === undefined) {
      place.untilMs = now + seconds * 1000;
      scope.entering('cooling down');
      for (const name of scope.nodes()) step.runtime(name).upkeep = 'cooling down';
      step.decide({ type: 'coolingDown', seconds });
      step.log({ kind: 'cooldown', batch: scope.batch - 1, seconds, ...scope.tag });
    }
    if (now < place.untilMs) return 'wait';
    for (const name of scope.nodes()) step.runtime(name).upkeep = null;
    state.timeline.push({ kind: 'cooldown', batch: scope.batch, start_ms: place.sinceMs, end_ms: now, ...scope.tag });
    return 'probe';
  },

  probe(step, place, scope) {
    const { state } = step;
    const health = state.plan.nodeHealth;
    const probes = scope.probes;
    if (!probes || !health?.probe_before_batch) return 'done';
    const n = scope.batch;
    // A lost node's probe still on its way gives its verdict first: one probe of a node at a time.
    if (!place.started && workOf(state, 'probe').length > 0) return 'wait';
    if (!place.started) {
      place.started = true;
      place.outcomes = {};
      place.nodes = place.failing ?? probes.nodes();
      for (const name of place.nodes)
        step.begin({ kind: 'probe', node: name, lost: false }, (work) => ({
          type: 'probeNode',
          work,
          node: step.node(name),
          clearHipCache: false,
          health: true,
          lost: false,
          summary: `probe ${name} ${scope.when}`,
        }));
    }
    if (probes.running()) return 'wait';
    const failing: string[] = [];
    const unhealthy: string[] = [];
    for (const name of place.nodes!) {
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent — unreachable, as for a reset: every probe asked for has answered, unless cancelled.
      const outcome: NodeOutcome = place.outcomes![name] ?? { ok: false, message: 'probe failed: no answer' };
      const verdict = probed(state, name, outcome.ok, outcome.message, health.quarantine_after);
      if (verdict === 'healthy') continue;
      if (verdict !== 'readmitted') unhealthy.push(name);
      step.log({ kind: 'probe', batch: n, node: name, verdict, message: outcome.message });
      if (verdict === 'left out') {
        failing.push(name);
        step.warn(`${scope.when}: ${name} left out: ${outcome.message}`);
      }
      if (verdict === 'quarantined') step.warn(`${scope.when}: ${name} quarantined: ${state.steering.quarantined[name]}`);
    }
    // "fail" fails the sweep on any failed probe, one that quarantined its node too.
    if (health.on_failure === 'fail' && unhealthy.length > 0) {
      const why = unhealthy.map((name) => `${name} (${place.outcomes?.[name]?.message})`).join(', ');
      state.over = true;
      step.decide({
        type: 'failSweep',
        message: `${scope.when}: ${why} failed the health probe; node_health.on_failure is "fail"`,
        errorType: 'NodeUnhealthy',
      });
      return 'wait';
    }
    if (failing.length === 0 || health.on_failure === 'redistribute') return 'done';
    state.waitingFor = `${failing.join(', ')} to pass the health probe (node_health.on_failure is "wait")`;
    place.failing = failing;
    return 'probe-wait';
  },

  'probe-wait'(step, place) {
    // Only a failed probe leads here, and probes run only under a node_health policy.
    place.untilMs ??= step.now + step.state.plan.nodeHealth!.wait_seconds * 1000;
    if (step.now < place.untilMs) return 'wait';
    step.state.waitingFor = null;
    return 'probe';
  },

  done: () => 'done',
};
