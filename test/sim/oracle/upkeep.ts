/**
 * Upkeep between batches (docs/sweeps.md, batching and node health): a rig resets only once its
 * jobs ended and never before the first batch (localhost never); a barrier batch after the first
 * waits for the cluster to drain, every rig in service to reset and the cooldown to pass; in
 * rolling mode each node does the same after its cycle of starts; with `probe_before_batch`,
 * every node in service is probed first.
 */
import type { Decision } from '../../../src/shared/dispatch/decisions';
import type { TimelineEntry } from '../../../src/shared/timeline';
import { isOut } from './nodes';
import { rule } from './rule';
import { liveOn, nodeNamed, type NodeRules, type OracleState } from './state';

export function judgeReset(state: OracleState, decision: Extract<Decision, { type: 'resetNode' }>, now: number): void {
  const name = decision.node.name;
  rule(!nodeNamed(state, name).local, 'localhost is never reset', () => `${state.input.sweep}: reset of ${name}`);
  rule(state.firstBatchBegun, 'no reset before the first batch', () => `${state.input.sweep}: ${name} reset at ${now} ms`);
  rule(
    liveOn(state, name).length === 0,
    'a rig resets only once its jobs have ended',
    () => `${state.input.sweep}: ${name} reset while ${liveOn(state, name).length} jobs of the sweep run there`,
  );
  state.pending.set(decision.work, { kind: 'reset', node: name, at: now });
}

/** A reset ended: in rolling mode the node's next cycle begins, its first start after the cooldown. */
export function resetDone(state: OracleState, work: number, now: number, ok: boolean): void {
  const reset = state.pending.get(work);
  state.pending.delete(work);
  if (!reset?.node) return;
  state.resetsUnrecorded.push({ node: reset.node, start_ms: reset.at!, end_ms: now, ok });
  const node = nodeNamed(state, reset.node);
  node.resetDoneAt = now;
  if (state.mode === 'rolling') Object.assign(node, { cycleStarts: 0, cooldownFrom: now });
}

/**
 * node_health.probe_before_batch: every node in service was probed since the batch before
 * drained; with on_failure "wait" none that failed is still out; with "fail" nothing starts.
 */
export function judgeProbesBefore(state: OracleState, where: string): void {
  const health = state.input.scenario.nodeHealth;
  if (!health.probe_before_batch) return;
  rule(!state.mustFailForHealth, 'node_health.on_failure "fail" fails the sweep', () => `${where}: a node failed its probe before this batch`);
  for (const node of state.nodes.values()) {
    // Out of service, or taken out or put back since the drain (it may have missed the probe): no probe owed.
    if (node.quarantined || node.preflightOut || node.excluded === 'all' || node.serviceChangedAt >= state.drainedAt) continue;
    rule(node.probedAt >= state.drainedAt, 'every node in service is probed before a batch', () => `${where}: ${node.name} last probed at ${node.probedAt} ms`);
    if (health.on_failure === 'wait')
      rule(!node.leftOutByProbe, 'node_health.on_failure "wait" waits for the node', () => `${where}: ${node.name} failed its probe and is still out`);
  }
}

/** The first start of a barrier batch after the first: drained, every rig in service reset, the cooldown over. */
export function judgeBarrier(state: OracleState, now: number, where: string): void {
  rule(state.attempts.size === 0, 'a barrier batch begins once the batch before has drained', () => `${where}: ${state.attempts.size} attempts still run`);
  const batching = state.input.scenario.batching;
  let quietFrom = state.drainedAt;
  for (const node of state.nodes.values()) {
    if (!batching.allocator_reset_between_batches || node.local || isOut(node) || node.serviceChangedAt >= state.drainedAt) continue;
    rule(
      node.resetDoneAt >= state.drainedAt,
      'every rig resets between barrier batches',
      () => `${where}: ${node.name} was not reset since ${state.drainedAt} ms`,
    );
    quietFrom = Math.max(quietFrom, node.resetDoneAt);
  }
  const cooldown = Math.min(...state.cooldown.over(state.drainedAt, now));
  rule(
    now >= quietFrom + cooldown * 1000,
    'no start inside the cooldown between batches',
    () => `${where}: quiet from ${quietFrom} ms, cooldown ${cooldown} s`,
  );
}

/** Rolling: after its cap of starts a node drains, resets (a rig) and cools down before it starts again. */
export function judgeCycle(state: OracleState, node: NodeRules, now: number, where: string): void {
  if (node.cooldownFrom !== null) {
    // Its reset began a new cycle: the first start waits out the cooldown.
    const cooldown = Math.min(...state.cooldown.over(node.cooldownFrom, now));
    rule(
      now >= node.cooldownFrom + cooldown * 1000,
      'rolling: no start inside a node’s cooldown',
      () => `${where}: reset done at ${node.cooldownFrom} ms, cooldown ${cooldown} s`,
    );
    node.cooldownFrom = null;
  }
  const resets = state.input.scenario.batching.allocator_reset_between_batches && !node.local;
  const idle = liveOn(state, node.name).length === 0;
  const cooldown = Math.min(...state.cooldown.over(node.drainedAt, now));
  // Without a reset, an idle node that waited out the cooldown may have closed its cycle: nothing shows it.
  if (!resets && idle && now >= node.drainedAt + cooldown * 1000) node.cycleStarts = 0;
  if (node.cycleStarts >= state.perNodeCap.now) {
    rule(idle, 'rolling: a node drains after its cycle', () => `${where}: ${node.cycleStarts} starts in its cycle`);
    rule(!resets, 'rolling: a rig resets after its cycle', () => `${where}: ${node.cycleStarts} starts since its last reset`);
    rule(false, 'rolling: no start inside a node’s cooldown', () => `${where}: drained at ${node.drainedAt} ms, cooldown ${cooldown} s`);
  }
  node.cycleStarts++;
}

/**
 * The timeline the sweep records (the HTML report's picture, docs/operating.md) shows each reset
 * as it happened: its rig, from when it was asked for to its outcome, and whether it worked.
 */
export function resetsRecorded(state: OracleState, timeline: TimelineEntry[]): void {
  for (const entry of timeline) {
    if (entry.kind !== 'reset') continue;
    const at = state.resetsUnrecorded.findIndex(
      (reset) => reset.node === entry.node && reset.start_ms === entry.start_ms && reset.end_ms === entry.end_ms && reset.ok === entry.ok,
    );
    rule(
      at >= 0,
      'the timeline records each reset as it happened',
      () => `${state.input.sweep}: ${JSON.stringify(entry)} recorded; resets not yet recorded ${JSON.stringify(state.resetsUnrecorded)}`,
    );
    state.resetsUnrecorded.splice(at, 1);
  }
}
