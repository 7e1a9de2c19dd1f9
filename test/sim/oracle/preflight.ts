/**
 * Pre-flight (docs/configuration.md, `preflight`): a check of every node before anything runs,
 * warm-ups one GPU at a time per node, and the verdict once every check has answered — every node
 * unreachable, or any with `required`, fails the sweep. No trial starts before that verdict.
 */
import type { Decision } from '../../../src/shared/dispatch/decisions';
import { rule } from './rule';
import type { NodeRules, OracleState } from './state';

/** docs/configuration.md: `preflight.warmup_timeout_seconds` when the config leaves it out. */
const DEFAULT_WARMUP_TIMEOUT_SECONDS = 300;

/** A pre-flight check sent: only when enabled, clearing the HIP cache as configured. */
export function judgePreflightCheck(state: OracleState, decision: Extract<Decision, { type: 'probeNode' }>, node: NodeRules): void {
  rule(state.input.scenario.preflight.enabled, 'pre-flight only when enabled', () => `${state.input.sweep}: pre-flight check of ${node.name}`);
  const clear = (state.input.scenario.preflight as { clear_hip_cache?: boolean }).clear_hip_cache ?? true;
  rule(
    decision.clearHipCache === clear,
    'pre-flight clears the HIP cache as configured',
    () => `${state.input.sweep}: ${node.name}: ${decision.clearHipCache}`,
  );
  rule(!decision.lost && !decision.health, 'a pre-flight check is neither a lost node’s probe nor a health probe', () => `${state.input.sweep}: ${node.name}`);
  state.preflightAsked++;
}

/** A pre-flight check answered: an unreachable node stays out of service for the whole sweep. */
export function preflightCheckAnswered(state: OracleState, node: NodeRules, reachable: boolean): void {
  state.preflightAnswered++;
  state.preflightLines.push({ node: node.name, ok: reachable });
  if (!reachable) {
    node.preflightOut = true;
    state.unreachable.push(node.name);
  }
}

/** Nodes pre-flight must warm up: reachable ones with a warmup_command, every GPU of theirs. */
function mustWarmUp(state: OracleState): NodeRules[] {
  const configured = new Set(state.input.scenario.nodes.filter((node) => node.warmup).map((node) => node.name));
  return [...state.nodes.values()].filter((node) => configured.has(node.name) && !node.preflightOut);
}

/** A warm-up: pre-flight's, on a reachable node with a warmup_command, its GPUs in order, one at a time, within the configured timeout. */
export function judgeWarmUp(state: OracleState, decision: Extract<Decision, { type: 'warmUp' }>): void {
  const node = decision.node.name;
  rule(
    state.input.scenario.preflight.enabled && mustWarmUp(state).some((candidate) => candidate.name === node),
    'warm-ups only in pre-flight, on reachable nodes with a warmup_command',
    () => `${state.input.sweep}: ${node} GPU ${decision.gpu}`,
  );
  const next = state.warmedUpTo.get(node) ?? 0;
  rule(decision.gpu === next, 'a node’s GPUs warm up in order, each once', () => `${state.input.sweep}: ${node} GPU ${decision.gpu}, expected GPU ${next}`);
  state.warmedUpTo.set(node, next + 1);
  rule(
    ![...state.pending.values()].some((work) => work.kind === 'warmup' && work.node === node),
    'warm-ups one GPU at a time per node',
    () => `${state.input.sweep}: ${node} GPU ${decision.gpu} warmed up while another GPU there warms up`,
  );
  const limit = (state.input.scenario.preflight as { warmup_timeout_seconds?: number }).warmup_timeout_seconds ?? DEFAULT_WARMUP_TIMEOUT_SECONDS;
  rule(decision.timeoutSeconds === limit, 'a warm-up within warmup_timeout_seconds', () => `${node}: ${decision.timeoutSeconds} s, config ${limit} s`);
  state.pending.set(decision.work, { kind: 'warmup', node, gpu: decision.gpu });
}

/** A warm-up answered: the step shows its outcome on its GPU. */
export function warmUpAnswered(state: OracleState, work: number, ok: boolean): void {
  const warmUp = state.pending.get(work);
  state.pending.delete(work);
  if (warmUp?.kind === 'warmup') state.preflightLines.push({ node: warmUp.node!, gpu: warmUp.gpu, ok });
}

/** A trial starts only once pre-flight has given its verdict and no warm-up runs. */
export function judgeTrialAfterPreflight(state: OracleState, where: string): void {
  rule(state.preflightVerdictAt !== null || !state.input.scenario.preflight.enabled, 'no trial before pre-flight is over', () => where);
  rule(![...state.pending.values()].some((work) => work.kind === 'warmup'), 'no trial while a warm-up runs', () => where);
  if (!state.input.scenario.preflight.enabled) return;
  for (const node of mustWarmUp(state))
    rule(
      (state.warmedUpTo.get(node.name) ?? 0) === node.gpus,
      'every GPU of a node with a warmup_command warms up before trials',
      () => `${where}: ${node.name}`,
    );
}

/** Pre-flight's verdict, in the step that hears the last check: every node unreachable, or one with `required`, fails the sweep. */
export function judgePreflightVerdict(state: OracleState, decisions: Decision[], now: number): void {
  if (state.preflightVerdictAt !== null || state.preflightAsked === 0 || state.preflightAnswered < state.preflightAsked || state.cancelled) return;
  state.preflightVerdictAt = now;
  const { required } = state.input.scenario.preflight;
  const mustFail = state.unreachable.length > 0 && (required || state.unreachable.length === state.nodes.size);
  const failure = decisions.find((decision) => decision.type === 'failSweep');
  const failed = failure !== undefined;
  if (failure)
    rule(failure.errorType === 'PreflightFailed', 'pre-flight fails the sweep as PreflightFailed', () => `${state.input.sweep}: ${failure.errorType}`);
  rule(
    failed === mustFail,
    mustFail ? 'pre-flight fails the sweep at once (preflight.required, or no node reachable)' : 'pre-flight fails a sweep only when it must',
    () => `${state.input.sweep}: unreachable ${state.unreachable.join(', ') || 'none'} of ${state.nodes.size}, required ${required}`,
  );
}
