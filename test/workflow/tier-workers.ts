/**
 * The workflow tier's workers, on Temporal's time-skipping test server: two lanes, each a task
 * queue served by a workflow worker, and the simulated activities on every queue a full worker polls.
 *
 * - `cached`: the workflow worker keeps its runs in its cache, as a worker in production does, so
 *   a step costs one activation, not a replay of the whole run.
 * - `replaying`: the workflow worker keeps no cache, so every workflow task rebuilds its run from
 *   the history, as a new worker does after a crash; a crash really replaces this worker, and the
 *   new one takes the sweeps on from their histories.
 *
 * Scenarios with a crash run on `replaying`. They cannot run on `cached`: the test server gives a
 * workflow task to the sticky queue of the worker that last completed one, and unlike Temporal's
 * server it never hands that task back to the shared queue when that worker is gone, so the sweep
 * would stall.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { RIGSWEEP_SEARCH_ATTRIBUTES } from '../../src/shared/search-attributes';
import { startTimeSkipping, stopTimeSkipping } from '../harness/time-skipping';
import type { SimCluster } from '../sim/cluster';
import { createSimActivities, SIM_WORKER_NAME } from '../sim/sim-activities';
import { fullWorkerQueues } from '../../src/shared/names';
import { bundleTraced, TracedReplayer } from './trace';

export type LaneName = 'cached' | 'replaying';

/** One task queue and its two workers. */
export interface Lane {
  taskQueue: string;
  workflowWorker: Worker;
  /** One per queue a full worker polls: the shared one, the full workers' one, its own name's. */
  activityWorkers: Worker[];
  /** The workers' `run()`s, which end once each has shut down. */
  workflowRun: Promise<void>;
  activityRuns: Promise<void>[];
}

const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** The server, both lanes and the clusters their activities act on, found by workflow id. */
export class TierWorkers {
  readonly clusters = new Map<string, SimCluster>();
  /** Replays with the same workflow, its core reporting every step: the sweeps' steps read back. */
  replayer!: TracedReplayer;
  env!: TestWorkflowEnvironment;
  waitingWork: (workflowId: string) => number[] = () => [];
  private bundle!: WorkflowBundle;
  private readonly lanes = new Map<LaneName, Lane>();
  /** A replacement of the replaying workflow worker under way: a scenario waits for it before the next begins. */
  replacing: Promise<void> = Promise.resolve();

  async start(): Promise<void> {
    // Workers of one kind only say so at every start: only errors are worth reading here.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    this.env = await startTimeSkipping();
    // The test server answers addSearchAttributes but not listSearchAttributes, which the worker's registration asks first.
    const indexed = {
      KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
    } as const;
    await this.env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(RIGSWEEP_SEARCH_ATTRIBUTES.map((key) => [key.name, indexed[key.type]])),
    });
    this.bundle = await bundleWorkflowCode({ workflowsPath: resolve(__dirname, '..', '..', 'src', 'workflows', 'index.ts'), logger: quiet });
    this.replayer = new TracedReplayer(await bundleTraced(quiet));
    const base = mkdtempSync(join(tmpdir(), 'rigsweep-wf-worker-'));
    const activities = createSimActivities({
      clusterOf: (id) => this.clusters.get(id)!,
      client: this.env.client,
      configFile: join(base, 'none.json'),
      cwd: base,
      onWaitingWork: (ask) => (this.waitingWork = ask),
    });
    for (const name of ['cached', 'replaying'] as const) {
      const taskQueue = `wf-tier-${name}-${randomUUID()}`;
      const activityWorkers = await Promise.all(
        fullWorkerQueues(taskQueue, SIM_WORKER_NAME).map((queue) => Worker.create({ connection: this.env.nativeConnection, taskQueue: queue, activities })),
      );
      const workflowWorker = await this.workflowWorker(name, taskQueue);
      const activityRuns = activityWorkers.map((worker) => worker.run());
      this.lanes.set(name, { taskQueue, activityWorkers, workflowWorker, activityRuns, workflowRun: workflowWorker.run() });
    }
  }

  lane(name: LaneName): Lane {
    return this.lanes.get(name)!;
  }

  /** The replaying lane's workflow worker goes; a new one takes its sweeps on from their histories. */
  replaceReplayingWorker(): Promise<void> {
    this.replacing = this.replacing.then(async () => {
      const lane = this.lane('replaying');
      stop(lane.workflowWorker);
      await lane.workflowRun;
      lane.workflowWorker = await this.workflowWorker('replaying', lane.taskQueue);
      lane.workflowRun = lane.workflowWorker.run();
    });
    return this.replacing;
  }

  async stop(): Promise<void> {
    await this.replacing;
    for (const lane of this.lanes.values()) {
      stop(lane.workflowWorker);
      lane.activityWorkers.forEach(stop);
    }
    await Promise.allSettled([...this.lanes.values()].flatMap((lane) => [lane.workflowRun, ...lane.activityRuns]));
    await this.replayer?.close();
    if (this.env) await stopTimeSkipping(this.env);
  }

  private workflowWorker(name: LaneName, taskQueue: string): Promise<Worker> {
    return Worker.create({
      connection: this.env.nativeConnection,
      taskQueue,
      workflowBundle: this.bundle,
      ...(name === 'replaying' ? { maxCachedWorkflows: 0 } : {}),
    });
  }
}

/** Stops a worker that may have stopped already. */
function stop(worker: Worker): void {
  if (worker.getState() === 'RUNNING') worker.shutdown();
}
