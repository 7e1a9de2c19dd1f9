/**
 * What a node may run at once (docs/sweeps.md): one trial per GPU, a standby only behind a job
 * that confirmed its start (never on a staggered node, never in rolling mode), at most
 * `max_concurrent_script_jobs`, and starts at least the stagger in force apart — the stagger as
 * the last `set` left it, counted from the latest confirmed start.
 */
import type { Decision } from '../../../src/shared/dispatch/decisions';
import type { SettingsChange } from '../../../src/shared/names';
import { rule } from './rule';
import { holdingOn, liveOn, nodeNamed, type NodeRules, type OracleState } from './state';

/** docs/sweeps.md: a dispatch to a staggered node may leave this much before its spacing ends; the node's permit holds it. */
export const DISPATCH_LEAD_MS = 250;

type StartJob = Extract<Decision, { type: 'startJob' }>;

/** A `set` of stagger_delay, for one node or all. */
export function staggerChanged(state: OracleState, change: SettingsChange): void {
  if (typeof change.stagger_delay === 'number') {
    for (const node of state.nodes.values()) if (change.node === undefined || change.node === node.name) node.stagger = change.stagger_delay;
  }
}

/** A job reported its start: the node's next staggered start counts from the latest one. */
export function confirmedStart(state: OracleState, work: number, startedAtMs: number): void {
  const attempt = state.attempts.get(work);
  if (!attempt) return;
  attempt.startedConfirmed = true;
  const node = nodeNamed(state, attempt.node);
  node.lastStartMs = Math.max(node.lastStartMs ?? -Infinity, startedAtMs);
  if (node.awaiting === work) node.awaiting = null;
}

/**
 * One trial per GPU, a standby only behind a started job, on unstaggered nodes, in modes with
 * standbys; the node's concurrency within its cap. Says whether the start is a standby.
 */
export function judgeLanes(state: OracleState, decision: StartJob, node: NodeRules, where: string): boolean {
  const onGpu = liveOn(state, node.name).filter((a) => a.gpu === decision.gpu);
  const stagger = node.stagger;
  if (onGpu.length > 0) {
    rule(state.mode !== 'rolling', 'no standby in rolling mode (a node drains before its reset)', () => where);
    rule(stagger === 0, 'no standby on a staggered node', () => `${where}, stagger ${stagger} s`);
    rule(onGpu.length === 1 && onGpu[0].startedConfirmed, 'a standby only behind one job that confirmed its start', () => where);
  }
  rule(decision.standby === onGpu.length > 0, 'a standby is sent as one, a job on a free GPU is not', () => `${where}: standby ${decision.standby}`);
  const holding = holdingOn(state, node.name) + (onGpu.length === 0 ? 1 : 0);
  rule(holding <= node.maxConcurrent, 'node concurrency within its cap', () => `${where}: ${holding} at once, cap ${node.maxConcurrent}`);
  return onGpu.length > 0;
}

/** Stagger: after the previous dispatch confirmed its start, a stagger from the latest start, less the lead. */
export function judgeStagger(state: OracleState, decision: StartJob, node: NodeRules, now: number, where: string): void {
  const stagger = node.stagger;
  rule(
    decision.spacingSeconds === stagger,
    'the node permit keeps the stagger in force',
    () => `${where}: ${decision.spacingSeconds} s sent, ${stagger} s in force`,
  );
  if (stagger > 0) {
    rule(decision.reportStart, 'a staggered node reports its starts', () => where);
    rule(node.awaiting === null, 'starts on a node at least its stagger apart', () => `${where}: the previous start there is not confirmed`);
    const after = (node.lastStartMs ?? -Infinity) + stagger * 1000 - DISPATCH_LEAD_MS;
    rule(now >= after, 'starts on a node at least its stagger apart', () => `${where}: last start ${node.lastStartMs} ms, stagger ${stagger} s`);
  }
  // A standby goes only behind a job that confirmed its start, so a node that may take one must report its starts.
  if (state.mode === 'barrier' || state.mode === 'unbatched') {
    if (stagger === 0) rule(decision.reportStart, 'a node that may take standbys reports its starts', () => where);
  }
}

/** A standby still waiting on a GPU taken out of service, or on a node given a stagger, is withdrawn at once. */
export function judgeStandbys(state: OracleState): void {
  if (state.cancelled) return;
  for (const attempt of state.attempts.values()) {
    if (!attempt.standby || attempt.withdrawn || attempt.startedConfirmed) continue;
    // It holds its GPU once the attempt ahead ended: then it is a running job, not a waiting standby.
    if (liveOn(state, attempt.node).some((other) => other.gpu === attempt.gpu && other.work < attempt.work)) {
      const node = nodeNamed(state, attempt.node);
      const out = node.excluded === 'all' || node.excluded.has(attempt.gpu) || node.leftOut || node.quarantined || node.preflightOut;
      rule(
        !out && node.stagger === 0,
        'a waiting standby is withdrawn from a GPU out of service or a staggered node',
        () => `${state.input.sweep}: ${attempt.jobId} waits on ${attempt.node} GPU ${attempt.gpu}`,
      );
    }
  }
}

/** A standby withdrawn: it comes back later as the same attempt, so it no longer counts against its batch's caps. */
export function withdraw(state: OracleState, decision: Extract<Decision, { type: 'withdraw' }>): void {
  state.pending.set(decision.tell, { kind: 'tell' });
  const attempt = state.attempts.get(decision.work);
  if (attempt) attempt.withdrawn = true;
  if (attempt && attempt.attempt === 1) state.batchStarts.get(attempt.batch)?.perNode.get(attempt.node)?.delete(attempt.jobId);
  if (attempt && attempt.attempt === 1) state.batchStarts.get(attempt.batch)?.total.delete(attempt.jobId);
}
