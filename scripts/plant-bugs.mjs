#!/usr/bin/env node
// npm run plant -- [--scenarios N] [--seed S] [--only ID,ID]
//
// Plants known bugs in the dispatcher core one at a time, each in a scratch copy of the tree
// (a detached git worktree of HEAD with this checkout's uncommitted changes), runs the core tier
// with the given seed against it, and prints which rule caught each bug — or that none did. A
// check nobody has seen fail is not trusted: this is how the oracle's checks were watched failing.
// Nothing in this checkout is changed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const D = 'src/shared/dispatch';

/** Each bug: where it goes, the exact text it replaces, what it breaks. */
const BUGS = [
  {
    id: 'stagger-set-ignored',
    file: `${D}/service.ts`,
    find: 'return state.settings?.stagger_delay[node.name] ?? node.staggerSeconds;',
    replace: 'return node.staggerSeconds;',
  },
  { id: 'stagger-lead-1s', file: `${D}/dispatching.ts`, find: 'DISPATCH_LEAD_MS = 250', replace: 'DISPATCH_LEAD_MS = 1250' },
  { id: 'stagger-no-confirm', file: `${D}/dispatching.ts`, find: 'if (runtime.awaitingStart !== null) return Infinity;', replace: '' },
  {
    id: 'per-node-cap-off-by-one',
    file: `${D}/policies/barrier.ts`,
    find: 'state.nodes[node].firstStarts < cap',
    replace: 'state.nodes[node].firstStarts <= cap',
  },
  {
    id: 'batch-size-plus-one',
    file: `${D}/policies/barrier.ts`,
    find: 'return Math.min(maxJobsPerBatch, maxJobsPerNode',
    replace: 'return Math.min(maxJobsPerBatch + 1, maxJobsPerNode',
  },
  {
    id: 'concurrency-off-by-one',
    file: `${D}/lanes.ts`,
    find: 'if (busyGpus(lanes) >= node.maxConcurrent) return undefined;',
    replace: 'if (busyGpus(lanes) > node.maxConcurrent) return undefined;',
  },
  { id: 'excluded-gpu-ignored', file: `${D}/service.ts`, find: "return out === 'all' || (out?.includes(gpu) ?? false);", replace: "return out === 'all';" },
  {
    id: 'excluded-node-ignored',
    file: `${D}/service.ts`,
    find: "return out === 'all' || (out?.includes(gpu) ?? false);",
    replace: 'return Array.isArray(out) && out.includes(gpu);',
  },
  {
    id: 'quarantine-ignored',
    file: `${D}/service.ts`,
    find: 'if (steering.leftOut[node] !== undefined || steering.quarantined[node] !== undefined) return true;',
    replace: 'if (steering.leftOut[node] !== undefined) return true;',
  },
  {
    id: 'left-out-ignored',
    file: `${D}/service.ts`,
    find: 'if (steering.leftOut[node] !== undefined || steering.quarantined[node] !== undefined) return true;',
    replace: 'if (steering.quarantined[node] !== undefined) return true;',
  },
  { id: 'lost-node-kept', file: `${D}/outcomes.ts`, find: 'if (result.lost_contact) leaveOutLostNode(', replace: 'if (false) leaveOutLostNode(' },
  {
    id: 'pause-ignored',
    file: `${D}/core.ts`,
    find: "case 'pause':\n      state.steering.pauseRequested = true;",
    replace: "case 'pause':\n      state.steering.pauseRequested = false;",
  },
  {
    id: 'pause-during-upkeep-ignored',
    file: `${D}/upkeep.ts`,
    find: "if (next === 'done' && scope.kind === 'cluster' && step.state.steering.pauseRequested) {",
    replace: 'if (false) {',
  },
  { id: 'one-retry-too-many', file: 'src/shared/retry-policy.ts', find: 'attempt > maxRetries)', replace: 'attempt > maxRetries + 1)' },
  { id: 'backoff-skipped', file: `${D}/outcomes.ts`, find: 'notBeforeMs: now + backoff * 1000,', replace: 'notBeforeMs: now,' },
  { id: 'backoff-halved', file: 'src/shared/retry-policy.ts', find: 'baseSeconds * 2 ** (attempt - 1)', replace: 'baseSeconds * 2 ** (attempt - 2)' },
  { id: 'fail-threshold-ignored', file: `${D}/flow.ts`, find: 'percent > limit && more', replace: 'percent > limit + 100 && more' },
  { id: 'preflight-required-ignored', file: `${D}/flow.ts`, find: 'unreachable.length && plan.preflight.required', replace: 'unreachable.length && false' },
  { id: 'hip-cache-not-cleared', file: `${D}/flow.ts`, find: 'clearHipCache: plan.preflight.clear_hip_cache,', replace: 'clearHipCache: false,' },
  {
    id: 'barrier-no-drain',
    file: `${D}/flow.ts`,
    find: "if (workOf(state, 'job').length > 0 || workOf(state, 'load').length > 0) return false;",
    replace: "if (workOf(state, 'load').length > 0) return false;",
  },
  { id: 'no-cooldown', file: `${D}/upkeep.ts`, find: "if (now < place.untilMs) return 'wait';", replace: '' },
  { id: 'barrier-no-reset', file: `${D}/upkeep-scopes.ts`, find: 'upkeep && plan.resetBetweenBatches ? plan.nodes', replace: 'false ? plan.nodes' },
  {
    id: 'localhost-reset',
    file: `${D}/upkeep-scopes.ts`,
    find: 'plan.nodes.filter((node) => !node.isLocal && !isNodeOut(state, node))',
    replace: 'plan.nodes.filter((node) => !isNodeOut(state, node))',
  },
  {
    id: 'rolling-no-reset',
    file: `${D}/upkeep-scopes.ts`,
    find: 'resetNodes: () => (state.plan.resetBetweenBatches && !node.isLocal ? [name] : []),',
    replace: 'resetNodes: () => [],',
  },
  {
    id: 'rolling-cycle-off-by-one',
    file: `${D}/policies/rolling.ts`,
    find: 'cycleStarts >= state.settings.max_jobs_per_node_per_batch',
    replace: 'cycleStarts > state.settings.max_jobs_per_node_per_batch',
  },
  {
    id: 'rolling-running-cap-off-by-one',
    file: `${D}/policies/rolling.ts`,
    find: 'running(state) < state.settings.max_jobs_per_batch',
    replace: 'running(state) <= state.settings.max_jobs_per_batch',
  },
  {
    id: 'standby-on-staggered-node',
    file: `${D}/dispatching.ts`,
    find: 'const standbys = policy.standbys && stagger === 0;',
    replace: 'const standbys = policy.standbys;',
  },
  { id: 'standby-behind-unstarted', file: `${D}/lanes.ts`, find: ' && hasStarted(lanes.seats[gpu][0])', replace: '' },
  { id: 'standby-not-withdrawn', file: `${D}/dispatching.ts`, find: 'work.withdrawn = true;', replace: 'continue;' },
  {
    id: 'cancel-spares-resets',
    file: `${D}/flow.ts`,
    find: "step.decide({ type: 'cancelWork', work: Number(id) });",
    replace: "if (work.kind !== 'reset') step.decide({ type: 'cancelWork', work: Number(id) });",
  },
  { id: 'warm-ups-at-once', file: `${D}/flow.ts`, find: 'if (warming.has(name)) continue;', replace: '' },
  {
    id: 'cap-change-ignored',
    file: 'src/shared/live-settings.ts',
    find: 'change.max_jobs_per_node_per_batch ?? settings.max_jobs_per_node_per_batch',
    replace: 'settings.max_jobs_per_node_per_batch',
  },
  {
    id: 'health-fail-spares-quarantined',
    file: `${D}/upkeep.ts`,
    find: "if (verdict !== 'readmitted') unhealthy.push(name);",
    replace: "if (verdict === 'left out') unhealthy.push(name);",
  },
  {
    id: 'timeline-reset-ends-at-start',
    file: `${D}/upkeep.ts`,
    find: 'start_ms: work.startedAtMs, end_ms: step.now, ok: outcome.ok',
    replace: 'start_ms: work.startedAtMs, end_ms: work.startedAtMs, ok: outcome.ok',
  },
  {
    id: 'timeline-reset-always-ok',
    file: `${D}/upkeep.ts`,
    find: 'end_ms: step.now, ok: outcome.ok',
    replace: 'end_ms: step.now, ok: true',
  },
  {
    id: 'timeline-reset-unrecorded',
    file: `${D}/upkeep.ts`,
    find: "step.state.timeline.push({ kind: 'reset',",
    replace: "void ({ kind: 'reset',",
  },
  {
    id: 'timeout-not-retried',
    file: 'src/shared/retry-policy.ts',
    find: "'EXIT_CODE', 'KILLED', 'TIMEOUT', 'FILE_MISSING'",
    replace: "'EXIT_CODE', 'KILLED', 'FILE_MISSING'",
  },
  {
    id: 'one-retry-short',
    file: 'src/shared/retry-policy.ts',
    find: 'attempt > maxRetries',
    replace: 'attempt >= maxRetries',
  },
  {
    id: 'attempt-cut-at-job-timeout',
    file: `${D}/limits.ts`,
    find: 'const startToCloseSeconds = 2 * jobTimeoutSeconds + JOB_TIMEOUT_MARGIN_SECONDS;',
    replace: 'const startToCloseSeconds = jobTimeoutSeconds;',
  },
  {
    id: 'retry-window-5-minutes',
    file: `${D}/limits.ts`,
    find: 'INFRASTRUCTURE_RETRY_WINDOW_SECONDS = 600',
    replace: 'INFRASTRUCTURE_RETRY_WINDOW_SECONDS = 300',
  },
];

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const scenarios = option('--scenarios', '2000');
const seed = option('--seed', String(Date.now() % 2 ** 31));
const only = option('--only', '')?.split(',').filter(Boolean) ?? [];

const scratch = mkdtempSync(join(tmpdir(), 'rigsweep-plant-'));
const tree = join(scratch, 'tree');
execFileSync('git', ['worktree', 'add', '--detach', tree, 'HEAD'], { cwd: ROOT, stdio: 'ignore' });
try {
  // Uncommitted work goes along (a changed mutation report alone can pass the default 1 MB).
  const diff = execFileSync('git', ['diff', 'HEAD', '--binary'], { cwd: ROOT, maxBuffer: 1 << 30 });
  if (diff.length) execFileSync('git', ['apply', '--whitespace=nowarn'], { cwd: tree, input: diff });
  for (const untracked of execFileSync('git', ['ls-files', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean)) {
    execFileSync('mkdir', ['-p', join(tree, untracked, '..')]);
    writeFileSync(join(tree, untracked), readFileSync(join(ROOT, untracked)));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  console.log(`planting ${only.length || BUGS.length} bugs; core tier, ${scenarios} scenarios, seed ${seed}`);
  const coreTier = () => {
    const run = spawnSync('npx', ['vitest', 'run', 'test/core/core-tier.test.ts'], {
      cwd: tree,
      encoding: 'utf8',
      env: { ...process.env, RIGSWEEP_FUZZ_SCENARIOS: scenarios, RIGSWEEP_FUZZ_SEED: seed, RIGSWEEP_FUZZ_NO_SHRINK: '1' },
    });
    const output = (run.stdout + run.stderr).replace(/\x1b\[[0-9;]*m/g, '');
    return { passed: run.status === 0, rule: /Caused by: \w+: (.+?): (?:(?:[ab]|localhost|rig\d+):|[ab] ended)/.exec(output)?.[1] ?? output.slice(-2000) };
  };
  // A bug counts as caught only where the same seed passes without it.
  const baseline = coreTier();
  if (!baseline.passed) throw new Error(`the core tier fails with seed ${seed} before any bug is planted: ${baseline.rule}`);
  let missed = 0;
  for (const bug of BUGS.filter((b) => only.length === 0 || only.includes(b.id))) {
    const path = join(tree, bug.file);
    const original = readFileSync(path, 'utf8');
    if (!original.includes(bug.find)) {
      console.log(`${bug.id.padEnd(32)} NOT PLANTED: its text is no longer in ${bug.file}`);
      missed++;
      continue;
    }
    writeFileSync(path, original.replace(bug.find, bug.replace));
    const started = Date.now();
    const run = coreTier();
    writeFileSync(path, original);
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    if (run.passed) missed++;
    console.log(`${bug.id.padEnd(32)} ${run.passed ? 'MISSED' : `caught by "${run.rule}"`} (${seconds} s)`);
  }
  process.exitCode = missed ? 1 : 0;
} finally {
  execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: ROOT, stdio: 'ignore' });
  if (existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
}
