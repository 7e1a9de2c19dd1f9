/**
 * Which nodes and GPUs are in service (docs/sweeps.md, steering and node health): an operator's
 * exclude and readmit, pre-flight's unreachable nodes, nodes left out by a failed probe or a lost
 * link, quarantine after `quarantine_after` failed probes in a row. Attempt ends, lanes and
 * batches read the facts kept here; the rules here are only about where work may go.
 */
import type { Decision } from '../../../src/shared/dispatch/decisions';
import { preflightCheckAnswered, judgePreflightCheck } from './preflight';
import { rule } from './rule';
import { nodeNamed, type NodeRules, type OracleState } from './state';

/** docs/sweeps.md, lost nodes: a rig left out is probed every 5 s while the batch runs. */
const LOST_PROBE_SECONDS = 5;

/** `exclude` / `readmit` of a node or one of its GPUs; readmitting a whole node also lifts quarantine and leaving out. */
export function steer(state: OracleState, kind: 'exclude' | 'readmit', selector: { node: string; gpu?: number }, now: number): void {
  const node = state.nodes.get(selector.node);
  if (!node) return;
  node.serviceChangedAt = now;
  const all = new Set(Array.from({ length: node.gpus }, (_, gpu) => gpu));
  if (kind === 'exclude') {
    if (selector.gpu === undefined) node.excluded = 'all';
    else if (node.excluded !== 'all') node.excluded.add(selector.gpu);
    return;
  }
  if (selector.gpu === undefined) {
    Object.assign(node, { excluded: new Set(), quarantined: false, leftOut: false, leftOutByProbe: false, probeFailures: 0 });
    return;
  }
  const excluded = node.excluded === 'all' ? all : node.excluded;
  excluded.delete(selector.gpu);
  node.excluded = excluded;
}

/** A probe answered: a pre-flight check, a health probe before a batch, or a lost node's probe. */
export function probed(state: OracleState, work: number, reachable: boolean, ok: boolean, now: number): void {
  const probe = state.pending.get(work);
  state.pending.delete(work);
  if (probe?.kind !== 'probe' || !probe.node) return;
  const node = nodeNamed(state, probe.node);
  if (!probe.health) return preflightCheckAnswered(state, node, reachable);
  // A lost node's probe counts only while the node is still left out (docs/sweeps.md, node health).
  if (probe.lost && !node.leftOut) return;
  node.probedAt = now;
  if (probe.lost) state.probeLines = [];
  if (ok) {
    state.probeLines?.push({ node: node.name, verdict: 'readmitted' });
    if (node.leftOut) node.serviceChangedAt = now;
    Object.assign(node, { leftOut: false, leftOutByProbe: false, probeFailures: 0 });
    return;
  }
  if (!probe.lost && state.input.scenario.nodeHealth.on_failure === 'fail') state.mustFailForHealth = true;
  node.probeFailures++;
  if (node.probeFailures >= state.input.scenario.nodeHealth.quarantine_after) {
    Object.assign(node, { quarantined: true, leftOut: false, leftOutByProbe: false, serviceChangedAt: now });
    state.probeLines?.push({ node: node.name, verdict: 'quarantined' });
    return;
  }
  if (!node.leftOut) leaveOut(node, now);
  if (!probe.lost) node.leftOutByProbe = true;
  else node.lostProbeFailedAt = now;
}

/** Out of service until a probe of it answers healthy (a failed probe, or a run that lost contact). */
export function leaveOut(node: NodeRules, now: number): void {
  Object.assign(node, { leftOut: true, serviceChangedAt: now });
}

/** Out of service as a whole: no GPU of it may take work. */
export function isOut(node: NodeRules): boolean {
  const all = node.excluded === 'all' || node.excluded.size >= node.gpus;
  return node.preflightOut || node.leftOut || node.quarantined || all;
}

/** A start goes only to a GPU the node has, on a node and GPU in service. */
export function judgeInService(node: NodeRules, gpu: number, where: string): void {
  rule(gpu >= 0 && gpu < node.gpus, 'a GPU the node has', () => where);
  rule(!node.preflightOut, 'no start on a node pre-flight left out', () => where);
  rule(!node.quarantined, 'no start on a quarantined node', () => where);
  rule(!node.leftOut, 'no start on a node left out (failed probe or lost)', () => where);
  rule(node.excluded !== 'all' && !node.excluded.has(gpu), 'no start on an excluded node or GPU', () => where);
}

/** A probe of a node (pre-flight, health, or a lost node's): never two of one node at once. */
export function judgeProbe(state: OracleState, decision: Extract<Decision, { type: 'probeNode' }>, now: number): void {
  const node = nodeNamed(state, decision.node.name);
  rule(
    ![...state.pending.values()].some((work) => work.kind === 'probe' && work.node === node.name),
    'one probe of a node at a time',
    () => `${state.input.sweep}: ${node.name} probed at ${now} ms while a probe of it is on its way`,
  );
  if (!decision.health) judgePreflightCheck(state, decision, node);
  rule(
    !decision.lost || now >= node.lostProbeFailedAt + LOST_PROBE_SECONDS * 1000,
    'a lost node is probed every 5 s',
    () => `${state.input.sweep}: ${node.name} probed at ${now} ms, its last probe failed at ${node.lostProbeFailedAt} ms`,
  );
  state.pending.set(decision.work, {
    kind: 'probe',
    node: node.name,
    health: decision.health,
    lost: decision.lost,
  });
}
