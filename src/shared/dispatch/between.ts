/**
 * Between two batches, before every batch but the first: a pause if an operator asked for one;
 * then (barrier mode) every rig drops its caches and the cluster cools down; then each node in
 * service is probed — reachable, and its `health_command` passes. A node that fails is left out
 * of the next batch (its jobs go to the others) and re-admitted once a probe passes; one that
 * fails `quarantine_after` probes in a row is quarantined. `node_health.on_failure` may instead
 * wait for the node, or fail the sweep. Pure code.
 */
import type { NodeOutcome } from './events';
import { policyOf } from './policies';
import { isNodeOut, probed } from './service';
import type { Between } from './state';
import { workOf, type Step } from './step';

/** Runs the steps between batches; true once the next batch may begin. */
export function betweenBatches(step: Step): boolean {
  const { state } = step;
  if (state.batchesBegun === 0) return true;
  const b = (state.between ??= { step: 'pause', sinceMs: step.now });
  for (;;) {
    const next = STEPS[b.step](step, b);
    if (next === 'wait') return false;
    if (next === 'done') {
      b.step = 'done';
      return true;
    }
    Object.assign(b, { step: next, sinceMs: step.now, untilMs: undefined, started: undefined });
  }
}

type Next = Between['step'] | 'wait';

const STEPS: Record<Between['step'], (step: Step, b: Between) => Next> = {
  pause(step, b) {
    const { state, now } = step;
    if (state.steering.pauseRequested) {
      if (state.phase !== 'paused') b.sinceMs = now;
      state.phase = 'paused';
      return 'wait';
    }
    if (state.phase === 'paused') state.timeline.push({ kind: 'pause', batch: upcoming(step), start_ms: b.sinceMs, end_ms: now });
    return 'reset';
  },

  reset(step, b) {
    const { state, now } = step;
    const plan = state.plan!;
    if (!policyOf(plan).upkeepBetweenBatches || !plan.resetBetweenBatches) return 'cooldown';
    const n = upcoming(step);
    if (!b.started) {
      b.started = true;
      b.outcomes = {};
      b.nodes = plan.nodes.filter((node) => !node.isLocal && !isNodeOut(state, node)).map((node) => node.name);
      if (b.nodes.length === 0) return 'cooldown';
      state.phase = 'resetting';
      // The rig keeps its own quiet window too, so no other sweep starts a job there during the cooldown.
      const cooldownSeconds = state.settings!.inter_batch_cooldown_seconds;
      for (const name of b.nodes) {
        step.runtime(name).upkeep = 'resetting';
        step.begin({ kind: 'reset', node: name, startedAtMs: now, cycle: false }, (work) => ({
          type: 'resetNode',
          work,
          node: step.node(name),
          cooldownSeconds,
          summary: `reset ${name} before batch ${n}`,
        }));
      }
      return 'wait';
    }
    if (workOf(state, 'reset').some(([, work]) => !work.cycle)) return 'wait';
    for (const name of b.nodes ?? []) {
      const outcome = b.outcomes?.[name] ?? { ok: false, message: 'reset failed: no answer' };
      step.log({ kind: 'reset', batch: n - 1, node: name, ...outcome });
      if (!outcome.ok) step.warn(`before batch ${n}: ${name}: ${outcome.message}`);
    }
    return 'cooldown';
  },

  cooldown(step, b) {
    const { state, now } = step;
    const seconds = state.settings!.inter_batch_cooldown_seconds;
    if (!policyOf(state.plan!).upkeepBetweenBatches || seconds <= 0) return 'probe';
    const n = upcoming(step);
    if (b.untilMs === undefined) {
      b.untilMs = now + seconds * 1000;
      state.phase = 'cooling down';
      for (const node of state.plan!.nodes) step.runtime(node.name).upkeep = 'cooling down';
      step.decide({ type: 'coolingDown', seconds });
      step.log({ kind: 'cooldown', batch: n - 1, seconds });
    }
    if (now < b.untilMs) return 'wait';
    for (const node of state.plan!.nodes) step.runtime(node.name).upkeep = null;
    state.timeline.push({ kind: 'cooldown', batch: n, start_ms: b.sinceMs, end_ms: now });
    return 'probe';
  },

  probe(step, b) {
    const { state } = step;
    const policy = state.plan!.nodeHealth;
    if (!policy?.probe_before_batch) return 'done';
    const n = upcoming(step);
    if (!b.started) {
      b.started = true;
      b.outcomes = {};
      b.nodes =
        b.failing ??
        state
          .plan!.nodes.filter((node) => state.steering.quarantined[node.name] === undefined && state.steering.excluded[node.name] !== 'all')
          .map((node) => node.name);
      for (const name of b.nodes)
        step.begin({ kind: 'probe', node: name, lost: false }, (work) => ({
          type: 'probeNode',
          work,
          node: step.node(name),
          clearHipCache: false,
          health: true,
          summary: `probe ${name} before batch ${n}`,
        }));
    }
    if (workOf(state, 'probe').some(([, work]) => !work.lost)) return 'wait';
    const failing: string[] = [];
    for (const name of b.nodes ?? []) {
      const outcome: NodeOutcome = b.outcomes?.[name] ?? { ok: false, message: 'probe failed: no answer' };
      const verdict = probed(state, name, outcome.ok, outcome.message, policy.quarantine_after);
      if (verdict === 'healthy') continue;
      step.log({ kind: 'probe', batch: n, node: name, verdict, message: outcome.message });
      if (verdict === 'left out') {
        failing.push(name);
        step.warn(`before batch ${n}: ${name} left out: ${outcome.message}`);
      }
      if (verdict === 'quarantined') step.warn(`before batch ${n}: ${name} quarantined: ${state.steering.quarantined[name]}`);
    }
    if (failing.length === 0 || policy.on_failure === 'redistribute') return 'done';
    if (policy.on_failure === 'fail') {
      const why = failing.map((name) => `${name} (${b.outcomes?.[name]?.message})`).join(', ');
      state.over = true;
      step.decide({
        type: 'failSweep',
        message: `before batch ${n}: ${why} failed the health probe; node_health.on_failure is "fail"`,
        errorType: 'NodeUnhealthy',
      });
      return 'wait';
    }
    state.waitingFor = `${failing.join(', ')} to pass the health probe (node_health.on_failure is "wait")`;
    b.failing = failing;
    return 'probe-wait';
  },

  'probe-wait'(step, b) {
    const wait = step.state.plan!.nodeHealth!.wait_seconds;
    b.untilMs ??= step.now + wait * 1000;
    if (step.now < b.untilMs) return 'wait';
    step.state.waitingFor = null;
    return 'probe';
  },

  done: () => 'done',
};

/** The number of the batch these steps come before. */
function upcoming(step: Step): number {
  return policyOf(step.state.plan!).batchNumber(step.state.batchesBegun);
}

/** A probe or reset between batches reports back. */
export function betweenOutcome(step: Step, node: string, outcome: NodeOutcome): void {
  const b = step.state.between;
  if (b) (b.outcomes ??= {})[node] = outcome;
}
