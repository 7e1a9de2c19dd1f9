/**
 * Upgrades never break a running sweep: every committed history of a real sweep (recorded by the
 * integration tests on real rigs) replays against the current workflow code. A change that alters
 * the command sequence of a running sweep fails here first; put it behind `patched()`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';

const HISTORIES = resolve(__dirname, '..', 'replay', 'histories');
const WORKFLOWS = resolve(__dirname, '..', '..', 'src', 'workflows', 'index.ts');
const files = readdirSync(HISTORIES).filter((name) => name.endsWith('.json'));

describe('replaying recorded sweeps against the current workflow code', () => {
  // Bundled once from the sources, not per history: webpack is most of a replay's time.
  let bundle: WorkflowBundle;
  beforeAll(async () => {
    bundle = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS,
      logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
  }, 120_000);

  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  it.each(files)(
    '%s',
    async (name) => {
      const history: unknown = JSON.parse(readFileSync(join(HISTORIES, name), 'utf8'));
      await Worker.runReplayHistory({ workflowBundle: bundle, replayName: name }, history, name.replace(/\.json$/, ''));
    },
    60_000,
  );
});
