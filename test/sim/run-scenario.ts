/**
 * Runs one generated scenario through the core tier: a real config and job list written to a
 * temporary folder, the sweep (and perhaps a second one on the same nodes) driven by the core on
 * the virtual clock against the simulated cluster, the happenings injected at their moments, and
 * every invariant checked — after each step, on the nodes' processes, and at the end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchPolicy } from '../../src/shared/dispatch/policies';
import { updateProblems, type UpdateEvent } from '../../src/shared/dispatch/updates';
import type { SweepInput } from '../../src/shared/sweep-input';
import { VirtualClock } from './clock';
import { SimCluster } from './cluster';
import { JOB_TIMEOUT_SECONDS } from './sim-nodes';
import type { SimProcess } from './sim-process';
import { checkProcesses, InvariantError } from './invariants';
import { SweepOracle } from './oracle';
import type { Anchor, Happening, Scenario, TrialBehaviour } from './scenario';
import type { Decision } from '../../src/shared/dispatch/decisions';
import { SimSweep } from './sim-sweep';

/** A sweep that has not ended after this much virtual time is stuck. */
const GIVE_UP_MS = 48 * 3600_000;

export interface ScenarioReport {
  sweeps: { id: string; cancelled: boolean; failed?: string; jobs: number; records: number; runs: number; endedAtMs: number; warnings: string[] }[];
  /** Every process the simulated nodes ran for a sweep, killed and restarted ones included. */
  processesOf(sweep: string): SimProcess[];
}

export interface ScenarioOptions {
  /** A batching mode not in the list (config refuses its name), run in place of the config's mode. */
  policy?: BatchPolicy;
}

export async function runScenario(scenario: Scenario, options: ScenarioOptions = {}): Promise<ScenarioReport> {
  const dir = mkdtempSync(join(tmpdir(), 'rigsweep-sim-'));
  try {
    return await run(scenario, dir, options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The user's config file for a scenario's cluster. */
export function configOf(scenario: Scenario) {
  return {
    nodes: scenario.nodes.map((node) => ({
      hostname: node.name,
      gpu_count: node.gpus,
      max_concurrent_script_jobs: node.maxConcurrent,
      stagger_delay: node.stagger,
      script_path: '/work',
      python_env: node.local ? '/usr/bin/python3' : '/home/m/rocm_env/bin/python',
      ...(node.warmup ? { warmup_command: 'python3 warm.py --gpu {gpu}' } : {}),
      ...(node.health ? { health_command: 'rocm-smi' } : {}),
    })),
    job_batching: scenario.batching,
    preflight: scenario.preflight,
    node_health: { ...scenario.nodeHealth, wait_seconds: 30 },
    lease_seconds: scenario.leaseSeconds,
    retry_backoff_seconds: scenario.retryBackoffSeconds,
  };
}

/** A scenario's job list, as a SCRIPT JOB SPEC array. */
export function jobsOf(prefix: string, behaviours: TrialBehaviour[][]) {
  return behaviours.map((_, i) => ({
    job_id: `${prefix}${String(i).padStart(3, '0')}`,
    script: 't.py',
    args: ['--n', String(i)],
    timeout: JOB_TIMEOUT_SECONDS,
  }));
}

async function run(scenario: Scenario, dir: string, { policy }: ScenarioOptions): Promise<ScenarioReport> {
  const clock = new VirtualClock();
  const cluster = new SimCluster(scenario, clock);
  const configFile = join(dir, 'distributed_config.json');
  writeFileSync(configFile, JSON.stringify(configOf(scenario)));
  const sweeps: SimSweep[] = [];
  // Happenings whose second has come, each waiting for the first work of its kind: it lands just inside it.
  const armed: { on: Anchor; what: Happening }[] = [];
  const fireAnchored = (decisions: Decision[]) => {
    for (const anchor of decisions.map(anchorOf)) {
      const at = armed.findIndex((happening) => happening.on === anchor);
      if (at < 0) continue;
      const [{ what }] = armed.splice(at, 1);
      clock.after(ANCHOR_DELAY_MS, () => happen(what, sweeps[0], cluster, scenario));
    }
  };
  const addSweep = (id: string, behaviours: TrialBehaviour[][], continueAsNewAfter: number | null) => {
    const jobs = jobsOf(`${id}-`, behaviours);
    const input: SweepInput = { jobs, outputDir: join(dir, 'out'), preservePaths: true, maxRetries: scenario.maxRetries };
    // A mode handed in directly is not one the docs describe: the oracle holds it to the rules of every mode.
    const oracle = new SweepOracle({ sweep: id, scenario, jobCount: jobs.length, maxRetries: scenario.maxRetries, ...(policy ? { mode: policy.mode } : {}) });
    const onDecisions = id === 'a' ? fireAnchored : undefined;
    const sweep = new SimSweep(id, input, clock, cluster, { cwd: dir, configFile, continueAsNewAfter, policy, oracle, onDecisions });
    cluster.setBehaviours(id, new Map(jobs.map((job, i) => [job.job_id, behaviours[i]])));
    sweeps.push(sweep);
    sweep.start();
  };
  addSweep('a', scenario.jobs, scenario.continueAsNewAfter);
  if (scenario.secondSweepAt !== null) clock.at(scenario.secondSweepAt * 1000, () => addSweep('b', scenario.jobs.slice(0, 5), null));
  for (const { atSeconds, on, what } of scenario.happenings)
    clock.at(atSeconds * 1000, () => {
      if (on) armed.push({ on, what });
      else happen(what, sweeps[0], cluster, scenario);
    });

  while (sweeps.some((sweep) => !sweep.over())) {
    if (clock.now > GIVE_UP_MS) throw new InvariantError(`every sweep ends: still running after ${GIVE_UP_MS / 3600_000} h of virtual time`);
    if (await clock.next()) continue;
    // A paused sweep waits for its operator, as it should: they come back and resume it.
    const paused = sweeps.find((sweep) => !sweep.over() && sweep.state.steering.pauseRequested);
    if (paused) {
      paused.feed({ type: 'resume' });
      continue;
    }
    // So does one whose every node an operator took out: they put one back.
    const excluded = sweeps.find((sweep) => !sweep.over() && sweep.state.waitingFor?.startsWith('a node in service'));
    const node = excluded && Object.keys(excluded.state.steering.excluded)[0];
    if (excluded && node) {
      excluded.feed({ type: 'readmit', selector: { node } });
      continue;
    }
    const stuck = sweeps.find((sweep) => !sweep.over())!;
    throw new InvariantError(`every sweep ends: ${stuck.id} waits for nothing at ${clock.now} ms: ${stuckState(stuck)}`);
  }
  const maxConcurrent = (name: string) => scenario.nodes.find((node) => node.name === name)?.maxConcurrent ?? 0;
  const staggerMs = (p: SimProcess) => sweeps.find((sweep) => sweep.id === p.sweep)!.checker.oracle.staggerOf(p.work);
  checkProcesses(cluster, cluster.processes, { permits: scenario.permits, maxConcurrent, staggerMs });
  return { sweeps: sweeps.map((sweep) => endOf(sweep, cluster)), processesOf: (sweep) => cluster.processes.filter((p) => p.sweep === sweep) };
}

/** How long after its anchor's work begins an anchored happening comes: inside a reset (1 s), a probe (0.5 s), a cooldown. */
const ANCHOR_DELAY_MS = 100;

function anchorOf(decision: Decision): Anchor | undefined {
  switch (decision.type) {
    case 'resetNode':
      return 'reset';
    case 'coolingDown':
      return 'cooldown';
    case 'probeNode':
      return decision.health ? 'probe' : undefined;
    case 'requeue':
      return decision.why === 'retry' ? 'backoff' : undefined;
    case 'warmUp':
      return 'warmup';
    case 'startJob':
      return 'start';
    default:
      return undefined;
  }
}

/** An operator's message, as the workflow's handlers take it: an update validated first, by the same core function. */
function happen(what: Scenario['happenings'][number]['what'], sweep: SimSweep | undefined, cluster: SimCluster, scenario: Scenario): void {
  if (!sweep || sweep.over()) return;
  const update = (event: UpdateEvent) => {
    if (updateProblems(sweep.state, event).length === 0) sweep.feed(event);
  };
  switch (what.kind) {
    case 'cancel':
    case 'pause':
    case 'resume':
      return sweep.feed({ type: what.kind });
    case 'set':
      return update({ type: 'settingsChanged', change: what.change });
    case 'exclude':
    case 'readmit': {
      const node = scenario.nodes[what.node];
      return update({ type: what.kind, selector: { node: node.name, ...(what.gpu !== undefined ? { gpu: what.gpu } : {}) } });
    }
    case 'cut':
      return cluster.cut(scenario.nodes[what.node].name, what.seconds);
    case 'crash':
      sweep.checkReplay();
      return cluster.crash();
  }
}

function endOf(sweep: SimSweep, cluster: SimCluster) {
  const end = sweep.end!;
  const live = cluster.live(sweep.id).filter((p) => p.state === 'running' || p.state === 'waiting');
  check(live.length === 0, 'nothing left running when a sweep ends', () => `${sweep.id}: ${live.map((p) => `${p.jobId}@${p.node}`).join(', ')}`);
  if (sweep.cancelRequested && !end.failed) check(end.cancelled, 'a cancelled sweep ends cancelled', () => `${sweep.id} ended ${end.results?.status}`);
  const oracle = sweep.checker.oracle;
  const expected = oracle.expectedEnd();
  if (oracle.mustFail()) check(end.failed !== undefined, 'node_health.on_failure "fail" fails the sweep', () => `${sweep.id} ended ${end.results?.status}`);
  const stop = oracle.requiredStop();
  if (stop && end.results)
    check(end.results.stopped_reason !== null, `${stop} stops the sweep and says why`, () => `${sweep.id}: no stopped_reason in the Results JSON`);
  check(oracle.unretried().length === 0, 'a retryable failure is retried while attempts remain', () => `${sweep.id}: ${oracle.unretried().join('; ')}`);
  if (end.results)
    check(oracle.unrecordedResets().length === 0, 'the timeline records every reset', () => `${sweep.id}: missing ${oracle.unrecordedResets().join(', ')}`);
  const plan = sweep.state.plan;
  let records = 0;
  if (plan && end.results) {
    const lines = readFileSync(join(plan.resultsDir, 'results.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { job_id: string; success: boolean });
    records = lines.length;
    const ids = lines.map((line) => line.job_id);
    check(
      new Set(ids).size === ids.length,
      'every job at most one final record',
      () => `${sweep.id}: ${ids.filter((id, i) => ids.indexOf(id) !== i).join(', ')} recorded twice`,
    );
    if (expected.ranToEnd)
      check(ids.length === oracle.jobCount, 'every job exactly one final record', () => `${sweep.id}: ${ids.length} records of ${oracle.jobCount} jobs`);
    const successful = lines.filter((line) => line.success).length;
    check(
      end.results.successful === successful && end.results.failed === oracle.jobCount - successful && end.results.total_jobs === oracle.jobCount,
      "the Results JSON's counts equal the records",
      () =>
        `${sweep.id}: results ${JSON.stringify({ s: end.results!.successful, f: end.results!.failed })}, records ${successful} successful of ${lines.length}`,
    );
  }
  return {
    id: sweep.id,
    cancelled: end.cancelled,
    failed: end.failed?.errorType,
    jobs: plan?.totalJobs ?? 0,
    records,
    runs: sweep.runs,
    endedAtMs: end.atMs,
    warnings: end.results?.warnings ?? [],
  };
}

function check(holds: boolean, rule: string, detail: () => string): void {
  if (!holds) throw new InvariantError(`${rule}: ${detail()}`);
}

/** What a stuck sweep was doing, for the failure message. */
function stuckState(sweep: SimSweep): string {
  const { phase, batch, between, queue, work, steering, nodes, waitingFor } = sweep.state;
  const runtimes = Object.fromEntries(
    Object.entries(nodes).map(([name, n]) => [
      name,
      { seats: n.lanes.seats, cycle: n.cycle, awaitingStart: n.awaitingStart, lastStartedAtMs: n.lastStartedAtMs, reprobeAtMs: n.reprobeAtMs },
    ]),
  );
  return JSON.stringify({ phase, batch, between, waitingFor, queue: queue.map((e) => `${e.job.job_id}#${e.attempt}`), work, steering, nodes: runtimes });
}
