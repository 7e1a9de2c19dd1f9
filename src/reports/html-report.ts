/**
 * `report.html`: one self-contained page — inline CSS and inline SVG, nothing fetched — that a
 * person opens from the results folder, offline, to see how the sweep went: the numbers at the
 * top, then every attempt on its GPU over time.
 */
import type { JobResult, ResultsJson } from '../shared/results';
import type { TimelineEntry } from '../shared/timeline';
import { type AttemptOutcome, listAttempts, type ReportAttempt } from './attempts';
import { escapeXml, formatDuration } from './markup';
import { renderTimelineSvg } from './timeline-svg';

export interface HtmlReportInput {
  runId: string;
  /** sweep_results.json; null while the sweep still runs. */
  results: ResultsJson | null;
  jobs: JobResult[];
  /** timeline.jsonl's entries; null when there is no such file. */
  timeline: TimelineEntry[] | null;
  generatedAt: Date;
}

const STYLE = `
:root{--success:#2f9e44;--failed:#e03131;--retried:#f59f00;--cancelled:#adb5bd;--batch:#e7eef7;--reset:#d0bfff;--reset-failed:#ffa8a8;--cooldown:#a5d8ff;--pause:#ffe066;--link:#343a40}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#212529}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:24px 0 8px}
.summary{display:flex;flex-wrap:wrap;gap:8px 32px;margin:0}
.summary dt{font-size:12px;color:#6c757d}.summary dd{margin:0;font-size:18px;font-weight:600}
.status-complete{color:var(--success)}.status-partial{color:var(--failed)}
table{border-collapse:collapse;font-size:13px}td,th{padding:2px 12px 2px 0;text-align:left}td.n{text-align:right}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:8px 0;font-size:13px}
.legend i{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:-1px;border-radius:2px}
.note{color:#6c757d;font-size:13px}
.scroll{overflow-x:auto;border:1px solid #dee2e6;border-radius:4px}
svg text{font:11px system-ui,sans-serif}
.lane-label{text-anchor:end;fill:#495057}.tick{text-anchor:middle;fill:#6c757d}
.grid{stroke:#000;stroke-opacity:.08}.node-line{stroke:#868e96}.stripe{fill:#000;fill-opacity:.035}
.band{fill-opacity:.55}.band.batch.odd{fill:var(--batch)}.band.batch.even{fill:#fff;fill-opacity:0}
.band.reset{fill:var(--reset)}.band.reset.failed{fill:var(--reset-failed)}.band.cooldown{fill:var(--cooldown)}.band.pause{fill:var(--pause)}
.band-label{fill:#495057}.band-label.reset{fill:#5f3dc4}.band-label.cooldown{fill:#1864ab}.band-label.pause{fill:#e67700}
.bar{stroke:#fff;stroke-width:.5}.bar:hover{stroke:#000;stroke-width:1.5}
.bar.success,i.success{fill:var(--success);background:var(--success)}.bar.failed,i.failed{fill:var(--failed);background:var(--failed)}
.bar.retried,i.retried{fill:var(--retried);background:var(--retried)}.bar.cancelled,i.cancelled{fill:var(--cancelled);background:var(--cancelled)}
.bar-label{fill:#fff;font-size:10px;pointer-events:none}.bar-label.retried,.bar-label.cancelled{fill:#212529}
.retry{fill:none;stroke:var(--link);stroke-width:1.2;stroke-dasharray:3 2;pointer-events:none}#retry-arrow path{fill:var(--link)}.dense .retry{stroke-width:.8;stroke-opacity:.6;stroke-dasharray:none}
i.batch{background:var(--batch)}i.reset{background:var(--reset)}i.reset-failed{background:var(--reset-failed)}i.cooldown{background:var(--cooldown)}i.pause{background:var(--pause)}
i.link{height:0;border-top:2px dashed var(--link);border-radius:0}
`;

const OUTCOME_LEGEND: [AttemptOutcome, string][] = [
  ['success', 'succeeded'],
  ['failed', 'failed'],
  ['retried', 'failed, then succeeded on a retry'],
  ['cancelled', 'cancelled'],
];
const BAND_LEGEND: [string, string][] = [
  ['batch', 'batch'],
  ['reset', 'rig reset (drop_caches)'],
  ['reset-failed', 'rig reset failed'],
  ['cooldown', 'cooldown'],
  ['pause', 'paused'],
];

const item = (css: string, label: string) => `<span><i class="${css}"></i>${escapeXml(label)}</span>`;

function legend(withBands: boolean): string {
  const items = [...OUTCOME_LEGEND.map(([css, label]) => item(css, label)), item('link', 'retry of the same job')];
  if (withBands) items.push(...BAND_LEGEND.map(([css, label]) => item(css, label)));
  return `<div class="legend">${items.join('')}</div>`;
}

/** Wall time of the sweep: the Results JSON's when finished, else first start to last end so far. */
function runtimeSeconds(results: ResultsJson | null, attempts: ReportAttempt[]): number {
  if (results) return results.runtime_seconds;
  const timed = attempts.filter((a) => Number.isFinite(a.startMs));
  if (!timed.length) return 0;
  const first = timed.reduce((min, a) => Math.min(min, a.startMs), Infinity);
  const last = timed.reduce((max, a) => Math.max(max, a.startMs + a.runtimeSeconds * 1000), -Infinity);
  return (last - first) / 1000;
}

function summary(input: HtmlReportInput, attempts: ReportAttempt[]): string {
  const { results, jobs } = input;
  const successful = jobs.filter((job) => job.success).length;
  const runtime = runtimeSeconds(results, attempts);
  const status = results?.status ?? 'unfinished';
  const fields: [string, string, string?][] = [
    ['run id', input.runId],
    ['status', status, `status-${status}`],
    ['jobs', String(results?.total_jobs ?? jobs.length)],
    ['successful', String(successful)],
    ['failed', String(results ? results.failed : jobs.length - successful)],
    ['attempts', `${attempts.length} (${attempts.filter((a) => a.nextSeq !== null).length} retried)`],
    ['batches', String(results?.batches ?? jobs.reduce((max, job) => Math.max(max, job.batch), 0))],
    ['runtime', formatDuration(runtime)],
    ['trials/min', runtime > 0 ? ((jobs.length / runtime) * 60).toFixed(1) : '–'],
  ];
  const cells = fields.map(([label, value, css]) => `<div><dt>${label}</dt><dd${css ? ` class="${escapeXml(css)}"` : ''}>${escapeXml(value)}</dd></div>`);
  return `<dl class="summary">${cells.join('')}</dl>`;
}

function nodesTable(results: ResultsJson | null): string {
  if (!results || !Object.keys(results.nodes).length) return '';
  const rows = Object.entries(results.nodes).map(
    ([name, node]) =>
      `<tr><td>${escapeXml(name)}</td><td>${escapeXml(node.gpu_type ?? '')}</td><td class="n">${node.gpu_count}</td><td class="n">${node.jobs}</td><td class="n">${node.successful}</td><td class="n">${node.failed}</td></tr>`,
  );
  return `<h2>Nodes</h2><table><tr><th>node</th><th>GPU type</th><th>GPUs</th><th>jobs</th><th>successful</th><th>failed</th></tr>${rows.join('')}</table>`;
}

function notices(input: HtmlReportInput): string {
  const lines = [
    ...(input.results?.stopped_reason ? [`stopped early: ${input.results.stopped_reason}`] : []),
    ...(input.results?.warnings ?? []),
    ...(input.results ? [] : ['the sweep has not finished: this report shows the batches recorded so far']),
  ];
  return lines.map((line) => `<p class="note">${escapeXml(line)}</p>`).join('');
}

/** The whole page. */
export function renderHtmlReport(input: HtmlReportInput): string {
  const attempts = listAttempts(input.jobs);
  const nodes = Object.entries(input.results?.nodes ?? {}).map(([name, node]) => ({ name, gpuCount: node.gpu_count }));
  const entries = input.timeline ?? [];
  const timelineNote = input.timeline ? '' : '<p class="note">No timeline.jsonl in the results folder: batches, resets and cooldowns are not shaded.</p>';
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>rigsweep report: ${escapeXml(input.runId)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>rigsweep report: ${escapeXml(input.runId)}</h1>`,
    summary(input, attempts),
    notices(input),
    '<h2>Timeline</h2>',
    '<p class="note">One lane per GPU; time runs left to right from the sweep\'s first start. Hover a bar for its job, a band for its span.</p>',
    legend(entries.length > 0),
    timelineNote,
    `<div class="scroll">${renderTimelineSvg({ nodes, attempts, entries })}</div>`,
    nodesTable(input.results),
    `<p class="note">Written ${escapeXml(input.generatedAt.toISOString())} from results.jsonl${input.timeline ? ', timeline.jsonl' : ''}${input.results ? ' and sweep_results.json' : ''}.</p>`,
    '</body></html>',
    '',
  ].join('\n');
}
