/**
 * Runs one generated scenario through the core tier: a real config and job list written to a
 * temporary folder, the sweep (and perhaps a second one on the same nodes) driven by the core on
 * the virtual clock against the simulated cluster, the happenings injected at their moments, and
 * every invariant checked — after each step, on the nodes' processes, and at the end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settingsChangeProblems, nodeSelectorProblems } from '../../src/shared/live-settings';
import type { SweepInput } from '../../src/shared/sweep-input';
import { VirtualClock } from './clock';
import { JOB_TIMEOUT_SECONDS, SimCluster } from './cluster';
import type { SimProcess } from './sim-process';
import { checkProcesses, InvariantError } from './invariants';
import type { Scenario, TrialBehaviour } from './scenario';
import { SimSweep } from './sim-sweep';

/** A sweep that has not ended after this much virtual time is stuck. */
const GIVE_UP_MS = 48 * 3600_000;

export interface ScenarioReport {
  sweeps: { id: string; cancelled: boolean; failed?: string; jobs: number; records: number; runs: number; endedAtMs: number }[];
  /** Every process the simulated nodes ran for a sweep, killed and restarted ones included. */
  processesOf(sweep: string): SimProcess[];
}

export async function runScenario(scenario: Scenario): Promise<ScenarioReport> {
  const dir = mkdtempSync(join(tmpdir(), 'rigsweep-sim-'));
  try {
    return await run(scenario, dir);
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

async function run(scenario: Scenario, dir: string): Promise<ScenarioReport> {
  const clock = new VirtualClock();
  const cluster = new SimCluster(scenario, clock);
  const configFile = join(dir, 'distributed_config.json');
  writeFileSync(configFile, JSON.stringify(configOf(scenario)));
  const sweeps: SimSweep[] = [];
  const addSweep = (id: string, behaviours: TrialBehaviour[][], continueAsNewAfter: number | null) => {
    const jobs = jobsOf(`${id}-`, behaviours);
    const input: SweepInput = { jobs, outputDir: join(dir, 'out'), preservePaths: true, maxRetries: scenario.maxRetries };
    const sweep = new SimSweep(id, input, clock, cluster, { cwd: dir, configFile, continueAsNewAfter });
    cluster.setBehaviours(id, new Map(jobs.map((job, i) => [job.job_id, behaviours[i]])));
    sweeps.push(sweep);
    sweep.start();
  };
  addSweep('a', scenario.jobs, scenario.continueAsNewAfter);
  if (scenario.secondSweepAt !== null) clock.at(scenario.secondSweepAt * 1000, () => addSweep('b', scenario.jobs.slice(0, 5), null));
  for (const { atSeconds, what } of scenario.happenings) clock.at(atSeconds * 1000, () => happen(what, sweeps[0], cluster, scenario));

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
  checkProcesses(cluster, cluster.processes, { permits: scenario.permits, maxConcurrent });
  return { sweeps: sweeps.map((sweep) => endOf(sweep, cluster)), processesOf: (sweep) => cluster.processes.filter((p) => p.sweep === sweep) };
}

/** An operator's message, as the workflow's handlers take it: validated first, like the real update validators. */
function happen(what: Scenario['happenings'][number]['what'], sweep: SimSweep | undefined, cluster: SimCluster, scenario: Scenario): void {
  if (!sweep || sweep.over()) return;
  const state = sweep.state;
  switch (what.kind) {
    case 'cancel':
    case 'pause':
    case 'resume':
      return sweep.feed({ type: what.kind });
    case 'set':
      if (
        state.settings &&
        settingsChangeProblems(
          what.change,
          state.allNodes.map((node) => node.name),
        ).length === 0
      )
        sweep.feed({ type: 'settingsChanged', change: what.change });
      return;
    case 'exclude':
    case 'readmit': {
      const node = scenario.nodes[what.node];
      const selector = { node: node.name, ...(what.gpu !== undefined ? { gpu: what.gpu } : {}) };
      if (state.settings && nodeSelectorProblems(selector, state.allNodes).length === 0) sweep.feed({ type: what.kind, selector });
      return;
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
  if (end.cancelled || !end.failed)
    check(live.length === 0, 'nothing left running when a sweep ends', () => `${sweep.id}: ${live.map((p) => `${p.jobId}@${p.node}`).join(', ')}`);
  if (sweep.cancelRequested && !end.failed) check(end.cancelled, 'a cancelled sweep ends cancelled', () => `${sweep.id} ended ${end.results?.status}`);
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
    const ranToEnd = !end.cancelled && !sweep.state.stoppedReason;
    if (ranToEnd)
      check(ids.length === plan.totalJobs, 'every job exactly one final record', () => `${sweep.id}: ${ids.length} records of ${plan.totalJobs} jobs`);
    const successful = lines.filter((line) => line.success).length;
    check(
      end.results.successful === successful && end.results.failed === plan.totalJobs - successful && end.results.total_jobs === plan.totalJobs,
      "the Results JSON's counts equal the records",
      () =>
        `${sweep.id}: results ${JSON.stringify({ s: end.results!.successful, f: end.results!.failed })}, records ${successful} successful of ${lines.length}`,
    );
  }
  return { id: sweep.id, cancelled: end.cancelled, failed: end.failed?.errorType, jobs: plan?.totalJobs ?? 0, records, runs: sweep.runs, endedAtMs: end.atMs };
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
