/**
 * What users see of a sweep besides its results (docs/operating.md, "What you see while it runs"):
 * the memo and search attributes the driver publishes — once planned, then at every batch's start
 * and end — and the progress lines `rigsweep watch` and `status` print: one `batch-start` and one
 * `batch-end` per batch with its job counts, a `preflight` line per check and per warm-up with
 * its outcome. The counts are the oracle's own, from the loads it saw and the records appended.
 */
import type { Decision } from '../../../src/shared/dispatch/decisions';
import type { NodeProgress, SweepEvent as ProgressLine } from '../../../src/shared/progress';
import { expectedEnd } from './end';
import { rule } from './rule';
import type { OracleState } from './state';

/** A pre-flight line the step must show: a check's reachability, or a warm-up's outcome on one GPU. */
export interface ExpectedPreflightLine {
  node: string;
  gpu?: number;
  ok: boolean;
}

/** Modes whose every `loadJobs` begins a batch (and every batch's end is shown): barrier and rolling. */
const batchesShown = (state: OracleState) => state.mode === 'barrier' || state.mode === 'rolling';

/** docs/operating.md: the memo and search attributes once planned; the counts at every batch's start and end. */
export function judgePublishes(state: OracleState, decisions: Decision[]): void {
  const publishes = decisions.filter((decision) => decision.type === 'publish');
  for (let plans = publishes.filter((decision) => decision.what === 'plan').length; plans > 0; plans--) {
    rule(state.planned, 'the memo is published once planned', () => `${state.input.sweep}: published before the plan`);
    rule(!state.planPublished, 'the memo is published once', () => `${state.input.sweep}: published again`);
    state.planPublished = true;
  }
  const counts = publishes.some((decision) => decision.what === 'counts');
  const loads = decisions.some((decision) => decision.type === 'loadJobs');
  if (loads) rule(state.planPublished, 'the memo is published before the first batch', () => `${state.input.sweep}: jobs read, no memo yet`);
  const ended = decisions.find((decision) => decision.type === 'batchOver');
  rule(
    !ended || counts,
    'the search attributes are published at every batch’s end',
    () => `${state.input.sweep}: batch ${ended?.type === 'batchOver' ? ended.batch : 0}`,
  );
  rule(
    !loads || !batchesShown(state) || counts,
    'the search attributes are published at every batch’s start',
    () => `${state.input.sweep}: jobs read, no counts published`,
  );
}

/** The progress lines this step added, against the oracle's batches, loads, records and pre-flight answers. */
export function judgeLines(state: OracleState, decisions: Decision[], lines: ProgressLine[]): void {
  const preflight = lines.filter((line) => line.kind === 'preflight');
  const shown = preflight.map((line) => JSON.stringify({ node: line.node, gpu: line.gpu, ok: line.ok }));
  const expected = state.preflightLines.map((line) => JSON.stringify({ node: line.node, gpu: line.gpu, ok: line.ok }));
  rule(
    JSON.stringify(shown.sort()) === JSON.stringify(expected.sort()),
    'a pre-flight line for each check and warm-up, with its outcome',
    () => `${state.input.sweep}: shown ${shown.join(' ') || 'none'}, expected ${expected.join(' ') || 'none'}`,
  );
  if (state.probeLines) {
    // In the batch shown last (the first, before any).
    const batch = Math.max(1, state.batchStartShown.size);
    const probes = lines.filter((line) => line.kind === 'probe').map((line) => `${line.node} ${line.verdict} in batch ${line.batch}`);
    const expectedProbes = state.probeLines.map((line) => `${line.node} ${line.verdict} in batch ${batch}`);
    rule(
      JSON.stringify(probes) === JSON.stringify(expectedProbes),
      'a lost node’s probe shows it readmitted or quarantined (nothing while it stays out)',
      () => `${state.input.sweep}: shown [${probes.join(', ')}], expected [${expectedProbes.join(', ')}]`,
    );
  }
  for (const line of lines) {
    if (line.kind === 'batch-start') batchStartShown(state, decisions, line.batch, line.jobs);
    if (line.kind === 'batch-end') {
      rule(state.batchStartShown.has(line.batch), 'a batch ends after its start', () => `${state.input.sweep}: batch ${line.batch}`);
      rule(!state.batchEndShown.has(line.batch), 'one batch-end line per batch', () => `${state.input.sweep}: batch ${line.batch} shown ended twice`);
      state.batchEndShown.set(line.batch, { jobs: line.jobs, successful: line.successful });
    }
  }
  for (const decision of decisions) {
    if (decision.type === 'batchOver' && batchesShown(state))
      rule(
        state.batchEndShown.has(decision.batch),
        'every batch’s end is shown',
        () => `${state.input.sweep}: batch ${decision.batch} over, no batch-end line`,
      );
    if (decision.type === 'startJob')
      rule(
        state.batchStartShown.has(decision.batch),
        'a batch’s start is shown before its jobs',
        () => `${state.input.sweep}: ${decision.job.job_id} in batch ${decision.batch}`,
      );
  }
}

/**
 * A batch-start line: batches shown in order, each once; its jobs are the sweep's (a sweep without
 * batches is one batch), or in barrier and rolling mode those waiting for it — read for it now or
 * earlier, with no final record and not running.
 */
function batchStartShown(state: OracleState, decisions: Decision[], batch: number, jobs: number): void {
  rule(
    batch === state.batchStartShown.size + 1,
    'batches are shown starting in order, each once',
    () => `${state.input.sweep}: batch ${batch} after ${state.batchStartShown.size}`,
  );
  state.batchStartShown.add(batch);
  const previousOver = state.overBatches.has(batch - 1) || decisions.some((decision) => decision.type === 'batchOver' && decision.batch === batch - 1);
  if (batch > 1 && batchesShown(state))
    rule(previousOver, 'a batch begins once the one before is over', () => `${state.input.sweep}: batch ${batch}, batch ${batch - 1} not over`);
  let waiting = state.input.jobCount;
  if (batchesShown(state)) {
    const reading = decisions.reduce((sum, decision) => sum + (decision.type === 'loadJobs' ? decision.end - decision.start : 0), 0);
    waiting = state.loaded + reading - state.recorded.size - state.attempts.size;
  }
  if (state.mode === 'other') return;
  rule(jobs === waiting, 'a batch-start line counts the batch’s jobs', () => `${state.input.sweep}: batch ${batch} shows ${jobs} jobs, ${waiting} wait for it`);
}

/**
 * Once every record is appended (the Results JSON is being written): each batch-end line's counts
 * are its batch's records; a sweep without batches that ran to its end showed its one batch end.
 */
export function judgeBatchEndCounts(state: OracleState): void {
  if (state.mode === 'unbatched' && expectedEnd(state).ranToEnd)
    rule(state.batchEndShown.has(1), 'every batch’s end is shown', () => `${state.input.sweep}: a sweep without batches ran to its end, no batch-end line`);
  for (const [batch, shown] of state.batchEndShown) {
    const records = state.records.get(batch) ?? { finished: 0, failed: 0 };
    rule(
      shown.jobs === records.finished && shown.successful === records.finished - records.failed,
      'a batch-end line counts the batch’s records',
      () => `${state.input.sweep}: batch ${batch} shows ${shown.successful}/${shown.jobs}, records ${records.finished - records.failed}/${records.finished}`,
    );
  }
}

/**
 * The GPUs `rigsweep status` shows excluded on each node: those an operator excluded — or all of
 * them, where a failed probe, a lost link or quarantine took the node out, or a probe of it has
 * answered (the exact moment a node is out is for the probes' own rules) — docs/sweeps.md, steering.
 */
export function judgeNodesShown(state: OracleState, decisions: Decision[], nodes: NodeProgress[]): void {
  if (state.cancelled) {
    // A cancel stops a reset on its node: once it has ended there, the node is not shown resetting.
    const resetting = new Set([...state.pending.values()].filter((work) => work.kind === 'reset').map((work) => work.node));
    const shown = nodes.filter((node) => node.state === 'resetting' && !resetting.has(node.name));
    rule(
      shown.length === 0,
      'a node whose reset a cancel stopped is not shown resetting',
      () => `${state.input.sweep}: ${shown.map((node) => node.name).join(', ')}`,
    );
  }
  if (decisions.some((decision) => decision.type === 'sweepOver')) {
    const busy = nodes.filter((node) => ['running', 'resetting', 'cooling down'].includes(node.state));
    rule(
      busy.length === 0,
      'when a sweep ends no node is shown busy',
      () => `${state.input.sweep}: ${busy.map((node) => `${node.name} ${node.state}`).join(', ')}`,
    );
  }
  for (const node of state.nodes.values()) {
    const shown = nodes.find((candidate) => candidate.name === node.name)?.excludedGpus ?? [];
    const gpus = Array.from({ length: node.gpus }, (_, gpu) => gpu);
    const byOperator = gpus.filter((gpu) => node.excluded === 'all' || node.excluded.has(gpu));
    const whole = JSON.stringify(shown) === JSON.stringify(gpus);
    rule(
      JSON.stringify(shown) === JSON.stringify(byOperator) ||
        (whole && (node.leftOut || node.quarantined || node.probeFailures > 0 || node.probedAt > -Infinity)),
      'the GPUs shown excluded are those an operator excluded, or the whole node out of service',
      () => `${state.input.sweep}: ${node.name} shows [${shown.join(',')}] excluded, operator excluded [${byOperator.join(',')}]`,
    );
  }
}

/**
 * The phase `rigsweep status` shows after a step that began something: pre-flight while its
 * checks and warm-ups are asked for, running once a batch's jobs are read, writing results once
 * the Results JSON is asked for, done once it is written.
 */
export function judgePhase(state: OracleState, decisions: Decision[], phase: string): void {
  const types = new Set(decisions.map((decision) => decision.type));
  const preflight = decisions.some((decision) => decision.type === 'warmUp' || (decision.type === 'probeNode' && !decision.health));
  const done = decisions.some((decision) => decision.type === 'sweepOver' && decision.results !== null);
  const expected = done ? 'done' : types.has('writeResults') ? 'writing results' : types.has('loadJobs') ? 'running' : preflight ? 'pre-flight' : phase;
  rule(phase === expected, 'the phase users see is the sweep’s', () => `${state.input.sweep}: shows "${phase}", expected "${expected}"`);
}
