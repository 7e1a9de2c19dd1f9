/**
 * The timeline picture, as plain SVG text: x is time, one lane per GPU, each attempt a bar
 * coloured by its outcome with a tooltip, a retry linked to the attempt it came from, and the
 * batches, resets, cooldowns and pauses of `timeline.jsonl` shaded behind the bars.
 */
import type { TimelineEntry } from '../shared/timeline';
import type { ReportAttempt } from './attempts';
import { coordinate as c, escapeXml, formatClock, formatDuration } from './markup';
import { axisTicks, type GpuLane, LabelRow, listLanes, textWidth, type TimeScale, timeScale } from './timeline-layout';

/** Above this many bars the picture is dense: no job ids on bars (they would not fit, and the file would grow) and no arrow heads. */
export const MAX_LABELLED_BARS = 300;

const LANE_HEIGHT = 20;
const BAR_HEIGHT = 14;
const LABEL_ROWS_HEIGHT = 40;
const AXIS_HEIGHT = 24;
const RIGHT_MARGIN = 16;

interface Frame {
  scale: TimeScale;
  lanes: GpuLane[];
  laneIndex: Map<string, number>;
  top: number;
  bottom: number;
}

const laneKey = (node: string, gpu: number) => `${node}\u0000${gpu}`;
const laneTop = (frame: Frame, index: number) => frame.top + index * LANE_HEIGHT;
const since = (frame: Frame, ms: number) => formatClock((ms - frame.scale.startMs) / 1000);

/** Lane labels, with every other node's lanes striped and a line between nodes. */
function drawLanes(frame: Frame): string[] {
  const { lanes, scale } = frame;
  const parts: string[] = [];
  let nodeNumber = -1;
  lanes.forEach((lane, i) => {
    const y = laneTop(frame, i);
    if (i === 0 || lanes[i - 1].node !== lane.node) {
      nodeNumber++;
      if (i > 0) parts.push(`<line class="node-line" x1="0" x2="${c(scale.left + scale.width)}" y1="${y}" y2="${y}"/>`);
    }
    if (nodeNumber % 2 === 1) parts.push(`<rect class="stripe" x="${scale.left}" y="${y}" width="${scale.width}" height="${LANE_HEIGHT}"/>`);
    parts.push(`<text class="lane-label" x="${scale.left - 8}" y="${y + LANE_HEIGHT / 2 + 4}">${escapeXml(`${lane.node} GPU ${lane.gpu}`)}</text>`);
  });
  return parts;
}

const BAND_LABELS: Record<TimelineEntry['kind'], (entry: TimelineEntry) => string> = {
  batch: (entry) => `batch ${entry.batch}`,
  reset: (entry) => (entry.kind === 'reset' && !entry.ok ? 'reset failed' : 'reset'),
  cooldown: () => 'cooldown',
  pause: () => 'paused',
};

/** The node a band belongs to: a reset's, or a rolling-mode cooldown's; none covers every lane. */
function bandNode(entry: TimelineEntry): string | undefined {
  return entry.kind === 'reset' || entry.kind === 'cooldown' ? entry.node : undefined;
}

/** A band of one node covers that node's lanes; everything else covers every lane. */
function bandLanes(frame: Frame, entry: TimelineEntry): [number, number] {
  const node = bandNode(entry);
  if (node === undefined) return [0, frame.lanes.length];
  const own = frame.lanes.flatMap((lane, i) => (lane.node === node ? [i] : []));
  return own.length ? [own[0], own.at(-1)! + 1] : [0, frame.lanes.length];
}

/** Batches first: their labels win the space, and the narrower bands are drawn over them. */
const DRAW_ORDER: TimelineEntry['kind'][] = ['batch', 'cooldown', 'pause', 'reset'];

/** `band batch odd`, `band reset failed`, ...: the CSS picks the colour. */
function bandClass(entry: TimelineEntry): string {
  if (entry.kind === 'batch') return `band batch ${entry.batch % 2 ? 'odd' : 'even'}`;
  if (entry.kind === 'reset' && !entry.ok) return 'band reset failed';
  return `band ${entry.kind}`;
}

function bandTooltip(frame: Frame, entry: TimelineEntry): string {
  const node = bandNode(entry);
  const where = node !== undefined ? ` on ${node}` : entry.kind === 'batch' ? '' : ` before batch ${entry.batch}`;
  const span = `${since(frame, entry.start_ms)} to ${since(frame, entry.end_ms)} (${formatDuration((entry.end_ms - entry.start_ms) / 1000)})`;
  return `${BAND_LABELS[entry.kind](entry)}${where}: ${span}`;
}

/** Background bands with a tooltip each, and their labels above the lanes where they fit (batches on the first row). */
function drawBands(frame: Frame, entries: TimelineEntry[]): string[] {
  const bands: string[] = [];
  const labels: string[] = [];
  const rows = { batch: new LabelRow(), other: new LabelRow() };
  const ordered = [...entries].sort((a, b) => DRAW_ORDER.indexOf(a.kind) - DRAW_ORDER.indexOf(b.kind) || a.start_ms - b.start_ms);
  for (const entry of ordered) {
    const x = frame.scale.x(entry.start_ms);
    const width = Math.max(1, frame.scale.x(entry.end_ms) - x);
    const [first, last] = bandLanes(frame, entry);
    const y = laneTop(frame, first);
    bands.push(
      `<rect class="${bandClass(entry)}" x="${c(x)}" y="${y}" width="${c(width)}" height="${(last - first) * LANE_HEIGHT}"><title>${escapeXml(bandTooltip(frame, entry))}</title></rect>`,
    );
    const label = BAND_LABELS[entry.kind](entry);
    const isBatch = entry.kind === 'batch';
    // A batch number may stick out of a narrow band (the next one that fits names a later batch);
    // a cooldown or reset label that does not fit its own band would only repeat the legend.
    if ((isBatch ? rows.batch : rows.other).place(x + 2, label, isBatch ? Infinity : width - 4)) {
      labels.push(`<text class="band-label ${entry.kind}" x="${c(x + 2)}" y="${isBatch ? 14 : 32}">${escapeXml(label)}</text>`);
    }
  }
  return [...bands, ...labels];
}

function drawAxis(frame: Frame): string[] {
  return axisTicks(frame.scale).flatMap((seconds) => {
    const x = c(frame.scale.x(frame.scale.startMs + seconds * 1000));
    return [
      `<line class="grid" x1="${x}" x2="${x}" y1="${frame.top}" y2="${frame.bottom + 4}"/>`,
      `<text class="tick" x="${x}" y="${frame.bottom + 16}">${formatClock(seconds)}</text>`,
    ];
  });
}

function tooltip(frame: Frame, attempt: ReportAttempt): string {
  const verdict = attempt.success ? 'success' : `${attempt.failureMode ?? 'failed'}${attempt.error ? `: ${attempt.error.slice(0, 160)}` : ''}`;
  return [
    `${attempt.jobId}, attempt ${attempt.attempt}`,
    `${attempt.node} GPU ${attempt.gpu}, batch ${attempt.batch}`,
    `started at ${since(frame, attempt.startMs)}, ran ${formatDuration(attempt.runtimeSeconds)}`,
    verdict,
    ...(attempt.resumed
      ? [
          attempt.resumed === 'adopted'
            ? 'its worker was lost after the trial ended: end record adopted'
            : 'its worker was lost while the trial ran: re-attached',
        ]
      : []),
  ].join('\n');
}

function barBox(frame: Frame, attempt: ReportAttempt) {
  const x = frame.scale.x(attempt.startMs);
  const width = Math.max(1, frame.scale.x(attempt.startMs + attempt.runtimeSeconds * 1000) - x);
  const y = laneTop(frame, frame.laneIndex.get(laneKey(attempt.node, attempt.gpu))!) + (LANE_HEIGHT - BAR_HEIGHT) / 2;
  return { x, width, y };
}

const BAR_LABEL_PX = 10;

/** The job id, cut with an ellipsis to fit the bar; empty when not even a few characters fit. */
function barLabel(jobId: string, barWidth: number): string {
  const fits = Math.floor((barWidth - 6) / textWidth('x', BAR_LABEL_PX));
  if (jobId.length <= fits) return jobId;
  return fits >= 4 ? `${jobId.slice(0, fits - 1)}…` : '';
}

/** One rect per attempt (class `bar` plus its outcome), and its job id on it when few bars are drawn. */
function drawBars(frame: Frame, attempts: ReportAttempt[], dense: boolean): string[] {
  return attempts.flatMap((attempt) => {
    const { x, width, y } = barBox(frame, attempt);
    const bar = `<rect class="bar ${attempt.outcome}" x="${c(x)}" y="${y}" width="${c(width)}" height="${BAR_HEIGHT}"><title>${escapeXml(tooltip(frame, attempt))}</title></rect>`;
    const label = dense ? '' : barLabel(attempt.jobId, width);
    if (!label) return [bar];
    return [bar, `<text class="bar-label ${attempt.outcome}" x="${c(x + 3)}" y="${y + BAR_HEIGHT - 3.5}">${escapeXml(label)}</text>`];
  });
}

/** A curve from the end of a failed attempt to the start of its retry; with an arrow head unless the picture is dense. */
function drawRetryLinks(frame: Frame, attempts: ReportAttempt[], dense: boolean): string[] {
  const bySeq = new Map(attempts.map((attempt) => [attempt.seq, attempt]));
  return attempts.flatMap((attempt) => {
    const next = attempt.nextSeq === null ? undefined : bySeq.get(attempt.nextSeq);
    if (!next) return [];
    const from = barBox(frame, attempt);
    const to = barBox(frame, next);
    const [x1, y1, x2, y2] = [from.x + from.width, from.y + BAR_HEIGHT / 2, to.x, to.y + BAR_HEIGHT / 2];
    const bend = Math.max(12, Math.abs(x2 - x1) / 2);
    const d = `M${c(x1)} ${c(y1)}C${c(x1 + bend)} ${c(y1)} ${c(x2 - bend)} ${c(y2)} ${c(x2)} ${c(y2)}`;
    return [`<path class="retry" data-from="${attempt.seq}" data-to="${next.seq}" d="${d}"${dense ? '' : ' marker-end="url(#retry-arrow)"'}/>`];
  });
}

export interface TimelineInput {
  /** The configured nodes, so that GPUs that ran nothing still get a lane. */
  nodes: { name: string; gpuCount: number }[];
  attempts: ReportAttempt[];
  /** Batches, resets, cooldowns, pauses; empty draws no bands. */
  entries: TimelineEntry[];
}

/** The picture. Attempts without a start time cannot be placed and are left out. */
export function renderTimelineSvg({ nodes, attempts, entries }: TimelineInput): string {
  const drawn = attempts.filter((attempt) => Number.isFinite(attempt.startMs));
  const lanes = listLanes(nodes, drawn);
  const labelWidth = Math.ceil(Math.max(60, ...lanes.map((lane) => textWidth(`${lane.node} GPU ${lane.gpu}`)))) + 16;
  const frame: Frame = {
    scale: timeScale(drawn, entries, labelWidth),
    lanes,
    laneIndex: new Map(lanes.map((lane, i) => [laneKey(lane.node, lane.gpu), i])),
    top: LABEL_ROWS_HEIGHT,
    bottom: LABEL_ROWS_HEIGHT + lanes.length * LANE_HEIGHT,
  };
  const dense = drawn.length > MAX_LABELLED_BARS;
  const width = frame.scale.left + frame.scale.width + RIGHT_MARGIN;
  const height = frame.bottom + AXIS_HEIGHT;
  return [
    `<svg class="timeline${dense ? ' dense' : ''}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="timeline of ${drawn.length} attempts on ${lanes.length} GPUs">`,
    '<defs><marker id="retry-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0 0L8 4L0 8z"/></marker></defs>',
    ...drawLanes(frame),
    ...drawBands(frame, entries),
    ...drawAxis(frame),
    ...drawBars(frame, drawn, dense),
    ...drawRetryLinks(frame, drawn, dense),
    '</svg>',
  ].join('\n');
}
