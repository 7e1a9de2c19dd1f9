/**
 * The production compose file is checked by docker-compose itself: `docker-compose config`
 * validates and normalises it (interpolated, keys sorted, long-form `depends_on`), and this test
 * reads the printed YAML for the few facts the stack depends on. No Docker engine is needed.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..');

interface ComposeRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `docker-compose config` as a fresh checkout would see it: an empty env file instead of
 * any local `.env`, and only PATH and HOME from the environment, so overrides a developer set
 * (RIGSWEEP_*, TEMPORAL_*, POSTGRES_*) cannot change the result.
 */
function composeConfig(): ComposeRun {
  const scratch = mkdtempSync(path.join(tmpdir(), 'rigsweep-compose-'));
  try {
    const emptyEnvFile = path.join(scratch, 'empty.env');
    writeFileSync(emptyEnvFile, '');
    const run = spawnSync('docker-compose', ['--env-file', emptyEnvFile, '-f', 'docker-compose.yml', 'config'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    // spawnSync's error is typed a plain Error; a failed spawn is an ErrnoException with a code.
    const spawnError: NodeJS.ErrnoException | undefined = run.error;
    if (spawnError?.code === 'ENOENT') {
      throw new Error('docker-compose is not on PATH: install it with `apt-get install docker-compose` (CI installs it)');
    }
    if (run.error) throw new Error(`docker-compose config could not run: ${run.error.message}`, { cause: run.error });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The lines nested under `keys` in docker-compose's block-style YAML output (2-space indents,
 * one key per line), or undefined when a key is missing. Just enough YAML for this test.
 */
function section(lines: string[], keys: string[]): string[] | undefined {
  let start = 0;
  let end = lines.length;
  let indent = 0;
  for (const key of keys) {
    const prefix = `${' '.repeat(indent)}${key}:`;
    const at = lines.slice(start, end).findIndex((line) => line === prefix || line.startsWith(`${prefix} `));
    if (at < 0) return undefined;
    start += at + 1;
    const childIndent = indent + 2;
    let stop = start;
    while (stop < end && (lines[stop].trim() === '' || lines[stop].startsWith(' '.repeat(childIndent)))) stop += 1;
    end = stop;
    indent = childIndent;
  }
  return lines.slice(start, end);
}

/** The scalar value of `key` directly inside a section, unquoted. */
function valueOf(block: string[] | undefined, key: string): string | undefined {
  if (!block) return undefined;
  const indent = block[0]?.match(/^ */)?.[0] ?? '';
  const line = block.find((candidate) => candidate.startsWith(`${indent}${key}: `));
  return line
    ?.slice(`${indent}${key}: `.length)
    .trim()
    .replace(/^(['"])(.*)\1$/, '$2');
}

describe('docker-compose.yml', () => {
  const run = composeConfig();
  const lines = run.stdout.split('\n');

  it('is valid for docker-compose config', () => {
    expect(run.status, `docker-compose config failed:\n${run.stderr}`).toBe(0);
    // An unset ${VAR} without a default would silently become an empty string.
    expect(run.stderr).not.toMatch(/variable is not set/i);
  });

  it('declares the Temporal stack and the worker', () => {
    const services = section(lines, ['services']) ?? [];
    const names = services.filter((line) => /^ {2}[^ #][^:]*:$/.test(line)).map((line) => line.trim().slice(0, -1));
    expect(names).toEqual(expect.arrayContaining(['postgresql', 'temporal-admin-tools', 'temporal', 'temporal-ui', 'rigsweep-worker']));
  });

  it('starts the server only after the schema job completed successfully', () => {
    const dependency = section(lines, ['services', 'temporal', 'depends_on', 'temporal-admin-tools']);
    expect(valueOf(dependency, 'condition')).toBe('service_completed_successfully');
  });

  it('points the worker at the temporal service', () => {
    const environment = section(lines, ['services', 'rigsweep-worker', 'environment']);
    expect(valueOf(environment, 'TEMPORAL_ADDRESS')).toBe('temporal:7233');
  });
});
