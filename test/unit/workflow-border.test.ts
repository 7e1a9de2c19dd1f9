/**
 * The border between the two worlds: workflow code runs in Temporal's deterministic sandbox and
 * may import only the workflow SDK, pure shared code, and activity *types*. This reads every
 * import of src/workflows and src/shared, and bundles the workflows as the worker does
 * (the bundler refuses Node built-ins).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '..', '..', 'src');

function imports(folder: string): { file: string; line: string; typeOnly: boolean; from: string }[] {
  return readdirSync(join(SRC, folder))
    .filter((name) => name.endsWith('.ts'))
    .flatMap((name) => {
      const text = readFileSync(join(SRC, folder, name), 'utf8');
      return [...text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)].map((match) => ({
        file: `${folder}/${name}`,
        line: match[0],
        typeOnly: Boolean(match[2]),
        from: match[3],
      }));
    });
}

describe('the workflow sandbox border', () => {
  it('workflows import only @temporalio/workflow, shared code, their own helpers, and types', () => {
    const offending = imports('workflows').filter(
      ({ from, typeOnly }) =>
        !typeOnly && !(from === '@temporalio/workflow' || from === '@temporalio/common' || from.startsWith('./') || from.startsWith('../shared/')),
    );
    expect(offending).toEqual([]);
  });

  it('shared code imports nothing from Node, activities or rigs', () => {
    const offending = imports('shared').filter(
      ({ from, typeOnly }) => !typeOnly && !['zod', '@temporalio/workflow', '@temporalio/common'].includes(from) && !from.startsWith('./'),
    );
    expect(offending).toEqual([]);
  });

  it('bundles for the sandbox', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: join(SRC, 'workflows', 'index.ts'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    expect(code).toContain('trialSweep');
  }, 60_000);
});
