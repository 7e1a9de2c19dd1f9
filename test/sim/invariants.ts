/**
 * The rules of a sweep, checked after every step of the core against the reference model
 * (test/sim/oracle.ts), which states what the docs promise from the scenario and the events
 * alone — never from the core's state or a decision's own fields — and on what the simulated
 * nodes ran: never two live copies of a job; at most one trial per GPU; a node's concurrency
 * within its cap; starts on a node at least the stagger in force apart.
 */
import { progressOf } from '../../src/shared/dispatch/view';
import type { Decision } from '../../src/shared/dispatch/decisions';
import type { SweepEvent } from '../../src/shared/dispatch/events';
import type { SweepState } from '../../src/shared/dispatch/state';
import type { NodeProgress, SweepEvent as ProgressLine } from '../../src/shared/progress';
import { DISPATCH_LEAD_MS, RuleBroken, type SweepOracle } from './oracle';
import type { SimCluster } from './cluster';
import type { SimProcess } from './sim-process';

export { RuleBroken as InvariantError };

function check(holds: boolean, rule: string, detail: () => string): void {
  if (!holds) throw new RuleBroken(`${rule}: ${detail()}`);
}

/** Follows one sweep step by step: the oracle hears each event and judges the decisions it led to. */
export class DecisionChecker {
  constructor(
    private readonly sweep: string,
    readonly oracle: SweepOracle,
  ) {}

  /** The last progress line users were shown. */
  private lastSeq = 0;

  afterStep(state: SweepState, event: SweepEvent, decisions: Decision[], now: number): void {
    // What users see after the step: the progress query's answer, with the lines added since the last step.
    const progress = progressOf(state, this.lastSeq);
    this.lastSeq = progress.lastSeq;
    this.judgeStep({ event, now, decisions, running: progress.running, seen: { lines: progress.events, nodes: progress.nodes, phase: progress.phase } });
  }

  /**
   * One step as the workflow took it (test/workflow/trace.ts), or as the simulator did: `running`
   * is the count users saw after it, `seen` the progress lines it added and the nodes (the simulator's only).
   */
  judgeStep({
    event,
    now,
    decisions,
    running: shown,
    seen,
  }: {
    event: SweepEvent;
    now: number;
    decisions: Decision[];
    running: number;
    seen?: { lines: ProgressLine[]; nodes: NodeProgress[]; phase: string };
  }): void {
    this.oracle.hear(event, now);
    this.oracle.judge(decisions, now, seen);
    check(
      shown === this.oracle.holding(),
      'the running count users see is the attempts that hold a GPU',
      () => `${this.sweep}: shown ${shown}, holding ${this.oracle.holding()}`,
    );
  }
}

/** What the simulated nodes ran: the same rules on real (simulated) processes, the stagger as the oracle had it in force at each dispatch. */
export function checkProcesses(
  cluster: SimCluster,
  processes: SimProcess[],
  options: { permits: boolean; maxConcurrent: (node: string) => number; staggerMs: (process: SimProcess) => number },
): void {
  const intervals = processes.filter((p) => p.startMs !== undefined).map((p) => ({ p, start: p.startMs!, end: p.endMs ?? Infinity }));
  const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;
  for (let i = 0; i < intervals.length; i++) {
    const a = intervals[i];
    for (let j = i + 1; j < intervals.length; j++) {
      const b = intervals[j];
      if (!overlaps(a, b) || a.p.node !== b.p.node) continue;
      const sameSweep = a.p.sweep === b.p.sweep;
      if (sameSweep)
        check(a.p.jobId !== b.p.jobId, 'never two live copies of a job (on the nodes)', () => `${a.p.sweep}: ${a.p.jobId} ran twice at once on ${a.p.node}`);
      if (sameSweep || options.permits)
        check(
          a.p.gpu !== b.p.gpu,
          'at most one trial per GPU (on the nodes)',
          () => `${a.p.node} GPU ${a.p.gpu}: ${a.p.sweep}/${a.p.jobId} and ${b.p.sweep}/${b.p.jobId} at once`,
        );
    }
  }
  const byNode = new Map<string, typeof intervals>();
  for (const interval of intervals) byNode.set(interval.p.node, [...(byNode.get(interval.p.node) ?? []), interval]);
  for (const [node, list] of byNode) {
    const groups = options.permits ? [list] : [...new Set(list.map((x) => x.p.sweep))].map((sweep) => list.filter((x) => x.p.sweep === sweep));
    for (const group of groups) {
      const points = group
        .flatMap((x) => [
          { t: x.start, d: 1 },
          { t: x.end, d: -1 },
        ])
        .sort((a, b) => a.t - b.t || a.d - b.d);
      let running = 0;
      for (const point of points) {
        running += point.d;
        check(
          running <= options.maxConcurrent(node),
          'node concurrency within its cap (on the nodes)',
          () => `${node}: ${running} trials at once at ${point.t} ms`,
        );
      }
      // Without permits, attempts restarted after a lost worker or link are no decision of the core: the node's permit is what spaces them.
      const starts = group.filter((x) => options.permits || !x.p.restartOf).sort((a, b) => a.start - b.start);
      for (let i = 1; i < starts.length; i++) {
        const gap = starts[i].start - starts[i - 1].start;
        const spacing = options.staggerMs(starts[i].p) - (options.permits ? 0 : DISPATCH_LEAD_MS);
        check(
          gap >= spacing - 1,
          'starts on a node at least its stagger apart (on the nodes)',
          () =>
            `${node}: ${starts[i - 1].p.jobId} at ${starts[i - 1].start} ms, ${starts[i].p.jobId} at ${starts[i].start} ms, stagger in force ${options.staggerMs(starts[i].p)} ms`,
        );
      }
    }
  }
  void cluster;
}
