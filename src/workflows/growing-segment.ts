/**
 * An unbatched sweep's segment grows while it runs: when fewer jobs wait than the nodes have slots,
 * the next jobs of the list are loaded and join the same queue. Lanes never stand idle at a
 * segment's end waiting for its slowest job; the cluster drains only where the run continues as
 * new, the one point that needs nothing running.
 */
import { condition } from '@temporalio/workflow';
import type { SweepJob } from '../shared/jobs';
import type { BatchContext } from './job-attempt';

export interface SegmentGrowth {
  /** The jobs from index `start` on, or null when none are left or this run should hand over. */
  more(start: number): Promise<SweepJob[] | null>;
}

/** First attempts still waiting in the queue. */
const waitingFirstAttempts = (context: BatchContext) => context.queue.filter((entry) => entry.attempt === 1).length;

/**
 * Adds jobs to the batch (and to `jobs`, its job list) until `growth` has no more. While this runs
 * the batch is not done: `context.growing` says so.
 */
export async function growSegment(context: BatchContext, growth: SegmentGrowth, jobs: SweepJob[]): Promise<void> {
  const slots = context.plan.nodes.reduce((sum, node) => sum + node.maxConcurrent, 0);
  try {
    for (;;) {
      await condition(() => waitingFirstAttempts(context) < slots);
      const more = await growth.more(context.batch.start + jobs.length);
      if (!more?.length) return;
      jobs.push(...more);
      context.queue.push(...more.map((job) => ({ job, attempt: 1, previous: [] })));
    }
  } finally {
    context.growing = false;
  }
}
