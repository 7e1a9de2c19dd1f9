/**
 * Perf (c): the user's cluster shape — localhost 2 GPUs (stagger 3 s) and 3 rigs of 8 GPUs
 * (stagger 2 s), batches of ≤ 20 with ≤ 6 per node, 5 s cooldown, resets on — and 100 trials of
 * 2.8 s, run in barrier mode, rolling mode and unbatched. Each sweep's makespan is read from the
 * trial records and set next to the seed policy's makespan on the same shape and the stagger
 * bound; every per-rig safety rule is proven from the trial records and the sudo stand-ins' logs.
 */
import { jobBatchingSchema } from '../../src/shared/config';
import { type SeedNodeShape, seedPolicySweep, staggerBound } from '../../src/shared/seed-policy';
import { readCalls, type TestRigs } from '../harness/rigs';
import { clusterNodes, maxOverlap, type NodeUnderTest, type TrialRun, writeUserConfig } from '../harness/sweep-fixture';

export type ShapeMode = 'barrier' | 'rolling' | 'unbatched';

export const SHAPE = {
  trials: 100,
  trialSeconds: 2.8,
  localStagger: 3,
  rigStagger: 2,
  rigGpus: 8,
  maxJobsPerBatch: 20,
  perNodeCap: 6,
  cooldown: 5,
} as const;

// Process start times come in 10 ms clock ticks, so two instants can look up to one tick closer.
const TICK = 0.011;
const RESET_ARGV = ['-n', 'tee', '/proc/sys/vm/drop_caches'];

/** The shape's nodes (as the config and the trial records name them) and its config file for one mode. */
export function shapeCluster(rigs: TestRigs, work: string, mode: ShapeMode): { nodes: NodeUnderTest[]; config: string } {
  const cluster = clusterNodes(rigs, { localGpus: 2, rigGpus: SHAPE.rigGpus, stagger: SHAPE.rigStagger });
  const nodes = cluster.nodes.map((node) => (node.name === 'localhost' ? { ...node, stagger: SHAPE.localStagger } : node));
  const configNodes = cluster.configNodes.map((node) => (node.hostname === 'localhost' ? { ...node, stagger_delay: SHAPE.localStagger } : node));
  const batching = {
    enabled: mode !== 'unbatched',
    ...(mode === 'rolling' ? { mode: 'rolling' } : {}),
    max_jobs_per_batch: SHAPE.maxJobsPerBatch,
    max_jobs_per_node_per_batch: SHAPE.perNodeCap,
    inter_batch_cooldown_seconds: SHAPE.cooldown,
    allocator_reset_between_batches: true,
  };
  const config = writeUserConfig(work, `shape-${mode}.json`, { nodes: configNodes, job_batching: batching, preflight: { enabled: false } });
  return { nodes, config };
}

/** True when this build's config accepts `job_batching.mode: "rolling"`. */
export function rollingBuilt(): boolean {
  return jobBatchingSchema.safeParse({ mode: 'rolling' }).success;
}

export function shapeJobs(prefix: string) {
  return Array.from({ length: SHAPE.trials }, (_, i) => {
    const id = `${prefix}${String(i).padStart(3, '0')}`;
    return {
      job_id: id,
      script: 'fake_trial.py',
      args: ['--job', id, '--sleep', String(SHAPE.trialSeconds), '--output', `out/${id}.json`],
      expected_output: `out/${id}.json`,
      timeout: 120,
    };
  });
}

/** The seed policy's makespan and the stagger bound for the shape, both from `seed-policy.ts`. */
export function shapeReferences(nodes: NodeUnderTest[]): { seed: number; seedBatches: number; bound: number } {
  const shape: SeedNodeShape[] = nodes.map((node) => ({
    name: node.name,
    gpuCount: node.gpuCount,
    maxConcurrent: node.maxConcurrent,
    staggerSeconds: node.stagger,
    isLocal: node.name === 'localhost',
  }));
  const seed = seedPolicySweep(shape, SHAPE.trials, {
    trialSeconds: SHAPE.trialSeconds,
    maxJobsPerBatch: SHAPE.maxJobsPerBatch,
    maxJobsPerNodePerBatch: SHAPE.perNodeCap,
    cooldownSeconds: SHAPE.cooldown,
    allocatorReset: true,
  });
  return {
    seed: seed.makespan,
    seedBatches: seed.batches.length,
    bound: staggerBound(
      SHAPE.trials,
      shape.map((node) => node.staggerSeconds),
      SHAPE.trialSeconds,
    ),
  };
}

/** A rig's `drop_caches` call, as its sudo stand-in recorded it. */
export interface ResetCall {
  node: string;
  t: number;
}

/** The resets each rig recorded between `from` and `to` (epoch seconds). */
export function resetCalls(rigs: TestRigs, from: number, to: number): ResetCall[] {
  return rigs.rigs.flatMap((rig) =>
    readCalls(rig.callsLog)
      .filter((call) => call.tool === 'sudo' && call.t >= from && call.t <= to && call.argv.join(' ') === RESET_ARGV.join(' '))
      .map((call) => ({ node: rig.address, t: call.t })),
  );
}

export function makespan(runs: TrialRun[]): number {
  return Math.max(...runs.map((r) => r.end)) - Math.min(...runs.map((r) => r.start));
}

export interface SweepRecord {
  mode: ShapeMode;
  nodes: NodeUnderTest[];
  runs: TrialRun[];
  resets: ResetCall[];
  /** Job id → 1-based batch, from the Results JSON. */
  batchOf: Map<string, number>;
}

/** "ok", or the first rule the record breaks. */
export function checkRules(sweep: SweepRecord): string {
  for (const violation of violations(sweep)) return violation;
  return 'ok';
}

function* violations(sweep: SweepRecord): Generator<string> {
  yield* everyJobOnce(sweep.runs);
  for (const node of sweep.nodes)
    yield* nodeRules(
      node,
      sweep.runs.filter((r) => r.node === node.name),
      sweep.resets.filter((c) => c.node === node.name),
    );
  if (sweep.mode === 'barrier') yield* barrierRules(sweep);
  if (sweep.mode === 'rolling') yield* rollingRules(sweep);
  if (sweep.mode === 'unbatched' && sweep.resets.length > 0) yield `unbatched: ${sweep.resets.length} resets (${sweep.resets[0].node} first)`;
}

function* everyJobOnce(runs: TrialRun[]): Generator<string> {
  const ids = new Set(runs.map((r) => r.jobId));
  if (runs.length !== SHAPE.trials || ids.size !== SHAPE.trials) yield `${runs.length} runs of ${ids.size} distinct jobs, expected ${SHAPE.trials} once each`;
  const unended = runs.find((r) => !Number.isFinite(r.end));
  if (unended) yield `${unended.jobId} has no end record`;
}

/** Concurrency cap, start spacing, one job per GPU, and no reset while a job runs on the node. */
function* nodeRules(node: NodeUnderTest, runs: TrialRun[], resets: ResetCall[]): Generator<string> {
  const overlap = maxOverlap(runs);
  if (overlap > node.maxConcurrent) yield `${node.name}: ${overlap} jobs at once > max_concurrent ${node.maxConcurrent}`;
  const starts = runs.map((r) => r.start).sort((a, b) => a - b);
  const tightest = Math.min(...starts.slice(1).map((t, i) => t - starts[i]));
  if (tightest < node.stagger - TICK) yield `${node.name}: two starts ${tightest.toFixed(3)} s apart < stagger ${node.stagger} s`;
  for (let gpu = 0; gpu < node.gpuCount; gpu++) {
    if (maxOverlap(runs.filter((r) => r.gpu === gpu)) > 1) yield `${node.name}: two jobs at once on GPU ${gpu}`;
  }
  const stray = runs.find((r) => r.gpu < 0 || r.gpu >= node.gpuCount || !Number.isInteger(r.gpu));
  if (stray) yield `${node.name}: ${stray.jobId} on GPU ${stray.gpu}, not one of its ${node.gpuCount}`;
  const busyReset = resets.find((reset) => runs.some((r) => r.start < reset.t && reset.t < r.end));
  if (busyReset) yield `${node.name}: reset at ${busyReset.t.toFixed(2)} while a job ran on it`;
}

/**
 * Every rig resets exactly once in (`from`, `until`), and the cooldown runs after that reset:
 * `until` is at least the cooldown after it.
 */
function* resetThenCooldown(node: string, resets: ResetCall[], from: number, until: number, where: string): Generator<string> {
  const inGap = resets.filter((r) => r.node === node && r.t > from && r.t < until);
  if (inGap.length !== 1) yield `${node}: ${inGap.length} resets ${where}, expected 1`;
  else if (until - inGap[0].t < SHAPE.cooldown - TICK)
    yield `${node}: next start ${(until - inGap[0].t).toFixed(3)} s after its reset ${where} < cooldown ${SHAPE.cooldown} s`;
}

/** ≤ 20 per batch, ≤ 6 per node per batch; between batches every rig reset and an idle gap ≥ the cooldown. */
function* barrierRules(sweep: SweepRecord): Generator<string> {
  const batches = [...new Set(sweep.runs.map((r) => sweep.batchOf.get(r.jobId) ?? 0))].sort((a, b) => a - b);
  if (batches.includes(0)) yield 'a job without a batch in the Results JSON';
  const runsOf = (batch: number) => sweep.runs.filter((r) => sweep.batchOf.get(r.jobId) === batch);
  for (const batch of batches) {
    const runs = runsOf(batch);
    if (runs.length > SHAPE.maxJobsPerBatch) yield `batch ${batch}: ${runs.length} jobs > ${SHAPE.maxJobsPerBatch}`;
    for (const node of sweep.nodes) {
      const onNode = runs.filter((r) => r.node === node.name).length;
      if (onNode > SHAPE.perNodeCap) yield `batch ${batch}: ${onNode} jobs on ${node.name} > ${SHAPE.perNodeCap}`;
    }
  }
  for (const [i, batch] of batches.slice(0, -1).entries()) {
    const lastEnd = Math.max(...runsOf(batch).map((r) => r.end));
    const nextStart = Math.min(...runsOf(batches[i + 1]).map((r) => r.start));
    if (nextStart - lastEnd < SHAPE.cooldown - TICK)
      yield `batches ${batch}-${batch + 1}: idle gap ${(nextStart - lastEnd).toFixed(3)} s < cooldown ${SHAPE.cooldown} s`;
    for (const node of sweep.nodes.filter((n) => n.name !== 'localhost'))
      yield* resetThenCooldown(node.name, sweep.resets, lastEnd, nextStart, `between batches ${batch} and ${batch + 1}`);
  }
}

/**
 * Each node's k-th run of `perNodeCap` starts drains before its next start; then (rigs) one reset,
 * then the cooldown with nothing running on it. At most `maxJobsPerBatch` jobs at once cluster-wide.
 */
function* rollingRules(sweep: SweepRecord): Generator<string> {
  const overlap = maxOverlap(sweep.runs);
  if (overlap > SHAPE.maxJobsPerBatch) yield `cluster: ${overlap} jobs at once > ${SHAPE.maxJobsPerBatch}`;
  for (const node of sweep.nodes) {
    const runs = sweep.runs.filter((r) => r.node === node.name).sort((a, b) => a.start - b.start);
    for (let done = SHAPE.perNodeCap; done < runs.length; done += SHAPE.perNodeCap) {
      const drained = Math.max(...runs.slice(0, done).map((r) => r.end));
      const next = runs[done].start;
      const where = `between its job starts ${done} and ${done + 1}`;
      if (next - drained < SHAPE.cooldown - TICK) yield `${node.name}: idle ${(next - drained).toFixed(3)} s ${where} < cooldown ${SHAPE.cooldown} s`;
      if (node.name !== 'localhost') yield* resetThenCooldown(node.name, sweep.resets, drained, next, where);
    }
  }
}
