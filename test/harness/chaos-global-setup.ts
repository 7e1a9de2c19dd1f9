/** `npm run chaos`: a fresh report file for the fault tests, and its table at the end. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAOS_REPORT_ENV, chaosTable } from './chaos-report';

let file = '';

export function setup(): void {
  file = join(mkdtempSync(join(tmpdir(), 'rigsweep-chaos-')), 'report.jsonl');
  // The test forks inherit this process's environment.
  process.env[CHAOS_REPORT_ENV] = file;
}

export function teardown(): void {
  process.stdout.write(`\nrigsweep chaos (${new Date().toISOString()})\n`);
  for (const line of chaosTable(file)) process.stdout.write(`  ${line}\n`);
}
