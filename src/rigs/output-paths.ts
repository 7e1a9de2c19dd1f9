/**
 * Where a job's output lives on its node and where its copy lands on the worker host. Results come
 * home so the WATCHER reads every result from one place (the seed's separate collection step lost
 * a quarter of them when one rig was missing from a second node list).
 */
import { isAbsolute, join, normalize, relative } from 'node:path';

/** The output file as SFTP or a local copy sees it: absolute, or relative to the login's home. */
export function nodeOutputPath(scriptPath: string, outputFile: string): string {
  if (isAbsolute(outputFile)) return outputFile;
  const base = scriptPath === '~' ? '' : scriptPath.startsWith('~/') ? scriptPath.slice(2) : scriptPath;
  return join(base, outputFile);
}

/**
 * Where the copy goes: below the run's results folder, keeping the job's relative path, minus
 * the node-side run folder when the output was redirected into one (no `<run>/<run>` nesting).
 */
export function homeOutputPath(resultsDir: string, outputFile: string, nodeRunDir?: string): string {
  const inside = nodeRunDir ? relative(nodeRunDir, outputFile) : '';
  const kept = nodeRunDir && inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : normalize(outputFile).replace(/^(\.\.\/|\/)+/, '');
  return join(resultsDir, kept);
}
