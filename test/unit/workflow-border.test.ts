/**
 * The border between the two worlds: workflow code runs in Temporal's deterministic sandbox and
 * may import only the workflow SDK, pure shared code, and activity *types*. This reads every
 * import of every file under src/workflows and src/shared, subfolders too, and bundles the
 * workflows as the worker does (the bundler refuses Node built-ins).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '..', '..', 'src');

interface Import {
  file: string;
  line: string;
  typeOnly: boolean;
  from: string;
  /** For a relative import: the folder under src it lands in (`shared`, `workflows`, ...). */
  lands?: string;
}

/** Every import and re-export of every .ts file under `src/<folder>`, at any depth. */
function imports(folder: string): Import[] {
  return readdirSync(join(SRC, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .flatMap((name) => {
      const path = join(SRC, folder, name);
      const text = readFileSync(path, 'utf8');
      return [...text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)].map((match) => ({
        file: relative(SRC, path),
        line: match[0],
        typeOnly: Boolean(match[2]),
        from: match[3],
        ...(match[3].startsWith('.') ? { lands: relative(SRC, resolve(dirname(path), match[3])).split('/')[0] } : {}),
      }));
    });
}

describe('the workflow sandbox border', () => {
  it('reads every file, in subfolders too', () => {
    const files = new Set([...imports('workflows'), ...imports('shared')].map(({ file }) => file));
    expect(files).toContain('shared/dispatch/core.ts');
    expect(files).toContain('shared/dispatch/policies/index.ts');
  });

  it('workflows import only @temporalio/workflow, shared code, their own helpers, and types', () => {
    const offending = imports('workflows').filter(
      ({ from, typeOnly, lands }) =>
        !typeOnly && !(from === '@temporalio/workflow' || from === '@temporalio/common' || lands === 'workflows' || lands === 'shared'),
    );
    expect(offending).toEqual([]);
  });

  it('shared code imports nothing from Node, activities or rigs', () => {
    const offending = imports('shared').filter(
      ({ from, typeOnly, lands }) => !typeOnly && !['zod', '@temporalio/workflow', '@temporalio/common'].includes(from) && lands !== 'shared',
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
