/**
 * Generated sweeps for the fast tiers: a cluster (1-5 nodes, 0-12 GPUs, staggers of 0, 0.2, 2 or
 * 3 s, caps), batching in every mode, job counts that cross batch, segment and continue-as-new
 * boundaries, retries, trials that succeed, fail, hang or leave stale output — and things that
 * happen at random moments: a cancel, a pause and resume, new numbers, a node or GPU taken out
 * and put back, a link cut shorter or longer than the lease, a worker crash, a second sweep on
 * the same nodes. fast-check generates and shrinks them; a failure prints its seed and the
 * smallest scenario that still fails.
 */
import fc from 'fast-check';

export interface SimNode {
  name: string;
  gpus: number;
  maxConcurrent: number;
  stagger: number;
  local: boolean;
  warmup: boolean;
  health: boolean;
}

/** What one attempt of a job does on its node. */
export type TrialBehaviour =
  | { kind: 'ok'; seconds: number }
  | { kind: 'exit'; seconds: number; code: number }
  | { kind: 'error'; seconds: number }
  | { kind: 'hang' }
  | { kind: 'stale'; seconds: number };

export type Happening =
  | { kind: 'cancel' }
  | { kind: 'pause' }
  | { kind: 'resume' }
  | { kind: 'set'; change: Record<string, number | string> }
  | { kind: 'exclude'; node: number; gpu?: number }
  | { kind: 'readmit'; node: number; gpu?: number }
  | { kind: 'cut'; node: number; seconds: number }
  | { kind: 'crash' };

/** Work whose beginning a happening may wait for. */
export type Anchor = 'reset' | 'cooldown' | 'probe' | 'backoff' | 'warmup' | 'start';
export const ANCHORS: readonly Anchor[] = ['reset', 'cooldown', 'probe', 'backoff', 'warmup', 'start'];

export interface Scenario {
  nodes: SimNode[];
  batching: {
    enabled: boolean;
    mode: string;
    max_jobs_per_batch: number;
    max_jobs_per_node_per_batch: number;
    inter_batch_cooldown_seconds: number;
    allocator_reset_between_batches: boolean;
    max_fail_percentage?: number;
  };
  preflight: { enabled: boolean; required: boolean };
  nodeHealth: { probe_before_batch: boolean; on_failure: 'redistribute' | 'wait' | 'fail'; quarantine_after: number };
  leaseSeconds: number;
  retryBackoffSeconds: number;
  maxRetries: number;
  /** Per job, what each of its attempts does (the last repeats). */
  jobs: TrialBehaviour[][];
  /** Node indexes that fail their health command / their reset. */
  unhealthy: number[];
  failingResets: number[];
  /** The run is due to continue as new after this many events (none: never). */
  continueAsNewAfter: number | null;
  /**
   * Operators' messages, link cuts and crashes: at a second, or (`on`) at the first moment after it
   * that the sweep begins that kind of work — inside a reset, a cooldown, a probe, a retry's
   * backoff, a warm-up or a start, where a timed moment would rarely land.
   */
  happenings: { atSeconds: number; on?: Anchor; what: Happening }[];
  /** Simulated node start permits (GPU lock, slots, spacing, quiet window) on or off. */
  permits: boolean;
  /** A second sweep of a few jobs on the same nodes, started at this second. */
  secondSweepAt: number | null;
}

const STAGGERS = [0, 0.2, 2, 3];

const nodeArb = (index: number): fc.Arbitrary<SimNode> =>
  fc
    .record({
      gpus: fc.integer({ min: 0, max: 12 }),
      capShare: fc.double({ min: 0.3, max: 1, noNaN: true }),
      stagger: fc.constantFrom(...STAGGERS),
      warmup: fc.boolean(),
      health: fc.boolean(),
    })
    .map(({ gpus, capShare, stagger, warmup, health }) => ({
      name: index === 0 ? 'localhost' : `rig${index}`,
      gpus,
      maxConcurrent: Math.max(1, Math.round(gpus * capShare)),
      stagger,
      local: index === 0,
      warmup: warmup && gpus > 0 && gpus <= 4,
      health,
    }));

const behaviourArb: fc.Arbitrary<TrialBehaviour> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('ok' as const), seconds: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('exit' as const), seconds: fc.integer({ min: 0, max: 10 }), code: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('error' as const), seconds: fc.integer({ min: 0, max: 10 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'hang' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stale' as const), seconds: fc.integer({ min: 0, max: 10 }) }) },
);

const happeningArb = (nodes: number): fc.Arbitrary<Happening> =>
  fc.oneof(
    fc.constant({ kind: 'cancel' as const }),
    fc.constant({ kind: 'pause' as const }),
    fc.constant({ kind: 'resume' as const }),
    fc
      .oneof(
        fc.record({ max_jobs_per_batch: fc.integer({ min: 1, max: 30 }) }),
        fc.record({ max_jobs_per_node_per_batch: fc.integer({ min: 1, max: 8 }) }),
        fc.record({ inter_batch_cooldown_seconds: fc.integer({ min: 0, max: 20 }) }),
        fc.record({ stagger_delay: fc.constantFrom(...STAGGERS) }),
      )
      .map((change) => ({ kind: 'set' as const, change })),
    fc.record({
      kind: fc.constant('exclude' as const),
      node: fc.integer({ min: 0, max: nodes - 1 }),
      gpu: fc.option(fc.integer({ min: 0, max: 11 }), { nil: undefined }),
    }),
    fc.record({
      kind: fc.constant('readmit' as const),
      node: fc.integer({ min: 0, max: nodes - 1 }),
      gpu: fc.option(fc.integer({ min: 0, max: 11 }), { nil: undefined }),
    }),
    fc.record({ kind: fc.constant('cut' as const), node: fc.integer({ min: 0, max: nodes - 1 }), seconds: fc.constantFrom(3, 8, 30, 90) }),
    fc.constant({ kind: 'crash' as const }),
  );

/**
 * Scenarios for the core tier; `small` keeps them quick enough for the workflow tier, and
 * `minJobs` makes every sweep at least that long (the workflow tier's fuzz mode: past a job
 * segment and a record chunk).
 */
export function scenarioArb(options: { small?: boolean; minJobs?: number } = {}): fc.Arbitrary<Scenario> {
  const maxJobs = Math.max(options.small ? 20 : 260, options.minJobs ?? 0);
  const minJobs = options.minJobs ?? 1;
  return fc.integer({ min: 1, max: 5 }).chain((nodeCount) =>
    fc
      .record({
        nodes: fc.tuple(...Array.from({ length: nodeCount }, (_, i) => nodeArb(i))),
        batching: fc.record({
          enabled: fc.boolean(),
          mode: fc.constantFrom('barrier' as const, 'rolling' as const),
          max_jobs_per_batch: fc.integer({ min: 1, max: 30 }),
          max_jobs_per_node_per_batch: fc.integer({ min: 1, max: 8 }),
          inter_batch_cooldown_seconds: fc.constantFrom(0, 0.5, 5, 15),
          allocator_reset_between_batches: fc.boolean(),
          max_fail_percentage: fc.option(fc.constantFrom(0, 50, 100), { nil: undefined }),
        }),
        preflight: fc.record({ enabled: fc.boolean(), required: fc.boolean() }),
        nodeHealth: fc.record({
          probe_before_batch: fc.boolean(),
          on_failure: fc.constantFrom('redistribute' as const, 'wait' as const, 'fail' as const),
          quarantine_after: fc.integer({ min: 1, max: 3 }),
        }),
        leaseSeconds: fc.constantFrom(4, 20),
        retryBackoffSeconds: fc.constantFrom(0, 1, 5),
        maxRetries: fc.integer({ min: 0, max: 3 }),
        jobs: fc
          .oneof(fc.integer({ min: minJobs, max: Math.max(minJobs, Math.min(30, maxJobs)) }), fc.integer({ min: minJobs, max: maxJobs }))
          .chain((count) => fc.array(fc.array(behaviourArb, { minLength: 1, maxLength: 3 }), { minLength: count, maxLength: count })),
        unhealthy: fc.subarray(
          Array.from({ length: nodeCount }, (_, i) => i),
          { maxLength: Math.min(2, nodeCount) },
        ),
        failingResets: fc.subarray(
          Array.from({ length: nodeCount }, (_, i) => i),
          { maxLength: Math.min(2, nodeCount) },
        ),
        continueAsNewAfter: fc.option(fc.integer({ min: 40, max: 400 }), { nil: null }),
        happenings: fc.array(
          fc.record(
            {
              atSeconds: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 600 })),
              on: fc.option(fc.constantFrom(...ANCHORS), { nil: undefined, freq: 2 }),
              what: happeningArb(nodeCount),
            },
            { requiredKeys: ['atSeconds', 'what'] },
          ),
          { maxLength: 6 },
        ),
        permits: fc.boolean(),
        secondSweepAt: fc.option(fc.integer({ min: 0, max: 120 }), { nil: null }),
      })
      .filter((scenario) => scenario.nodes.some((node) => node.gpus > 0)),
  );
}
