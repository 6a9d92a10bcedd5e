/**
 * The page: controls, the live chart (uPlot), decision boundaries, gradient bars. All training
 * happens in ./worker.ts; this module only sends settings and draws the reports it gets back.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { DATASETS, type DatasetName } from './datasets.js';
import { graphSvg } from './graph-view.js';
import type { Boundary, FromWorker, ToWorker } from './messages.js';
import {
  DEFAULT_SETTINGS,
  OPTIMIZERS,
  type OptimizerName,
  type RunReport,
  type Settings,
  settingsProblems,
} from './trainer.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const RUN_COLORS = ['#d9480f', '#1c7ed6'];
const CLASS_COLORS: [number, number, number][] = [
  [230, 119, 0],
  [25, 113, 194],
  [47, 158, 68],
  [174, 62, 201],
];

/** Everything drawn so far, also read by the end-to-end tests. */
const history = { steps: [] as number[], loss: [[], []] as number[][], accuracy: [[], []] as number[][] };
(window as unknown as { playground: unknown }).playground = {
  history,
  backend: '',
  /** ms per step of each backend, when 'auto' timed them. */
  timings: {} as Record<string, number>,
  errors: [] as string[],
  /** The latest .onnx download: its file name and agrad's logits on a few test inputs. */
  lastExport: null as null | { name: string; probe: { input: number[]; shape: number[]; logits: number[] } },
};

function fillSelect(id: string, values: readonly string[], selected: string): void {
  const select = $<HTMLSelectElement>(id);
  for (const value of values) select.add(new Option(value, value, value === selected, value === selected));
}
fillSelect('dataset', DATASETS, DEFAULT_SETTINGS.dataset);
fillSelect('optimizer', OPTIMIZERS, DEFAULT_SETTINGS.optimizer);

/**
 * The settings as typed, without fixing anything up: a field that is empty or not a number reads
 * as NaN, so settingsProblems can say so instead of a silent fallback.
 */
function readSettings(): Settings {
  const number = (id: string) => {
    const input = $<HTMLInputElement>(id);
    return input.validity.badInput || input.value.trim() === '' ? Number.NaN : Number(input.value);
  };
  const hidden = $<HTMLInputElement>('hidden')
    .value.split(',')
    .filter((w) => w.trim() !== '')
    .map((w) => Number(w.trim()));
  return {
    dataset: $<HTMLSelectElement>('dataset').value as DatasetName,
    hidden,
    optimizer: $<HTMLSelectElement>('optimizer').value as OptimizerName,
    lr: number('lr'),
    weightDecay: number('weightDecay'),
    batchSize: number('batchSize'),
    seed: number('seed'),
    agr: [$<HTMLInputElement>('agr-1').checked, $<HTMLInputElement>('agr-2').checked],
    backend: $<HTMLSelectElement>('backendChoice').value as Settings['backend'],
  };
}

const SETTING_FIELDS = ['dataset', 'hidden', 'optimizer', 'lr', 'weightDecay', 'batchSize', 'seed'] as const;

/**
 * Shows what is wrong with the settings, next to the fields and in the message box, and returns
 * whether they can be used. Invalid settings never restart the runs: the last good ones keep
 * their curves until the settings are fixed.
 */
function checkSettings(settings: Settings): boolean {
  const problems = settingsProblems(settings);
  for (const field of SETTING_FIELDS) $(field).removeAttribute('aria-invalid');
  for (const p of problems) $(p.field).setAttribute('aria-invalid', 'true');
  const box = $('settings-error');
  box.textContent = problems.map((p) => p.message).join('\n');
  box.hidden = problems.length === 0;
  $<HTMLButtonElement>('start').disabled = running || problems.length > 0;
  $<HTMLButtonElement>('step').disabled = running || problems.length > 0;
  return problems.length === 0;
}

// The chart: loss on the left axis, test accuracy on the right, one colour per run. Its legend
// shows the latest values, or the values under the cursor while it hovers over the plot.
const chartBox = $('chart');
const chartWidth = () => Math.max(240, Math.min(640, chartBox.clientWidth || 640));
const lossValue = (_: uPlot, v: number | null) => (v === null || v === undefined ? '—' : v.toFixed(4));
const accuracyValue = (_: uPlot, v: number | null) =>
  v === null || v === undefined ? '—' : `${(100 * v).toFixed(1)}%`;
let hovering = false;
const chart = new uPlot(
  {
    width: chartWidth(),
    height: 260,
    scales: { x: { time: false }, loss: { auto: true }, acc: { range: [0, 1] } },
    axes: [
      { label: 'step' },
      { scale: 'loss', label: 'training loss' },
      { scale: 'acc', side: 1, label: 'test accuracy', grid: { show: false } },
    ],
    series: [
      { label: 'step' },
      { label: 'loss, run 1', scale: 'loss', stroke: RUN_COLORS[0], width: 2, value: lossValue },
      { label: 'loss, run 2', scale: 'loss', stroke: RUN_COLORS[1], width: 2, value: lossValue },
      { label: 'accuracy, run 1', scale: 'acc', stroke: RUN_COLORS[0], dash: [6, 4], value: accuracyValue },
      { label: 'accuracy, run 2', scale: 'acc', stroke: RUN_COLORS[1], dash: [6, 4], value: accuracyValue },
    ],
    hooks: {
      // When the cursor leaves the plot, uPlot blanks the legend: show the latest values instead.
      setCursor: [
        (u) => {
          hovering = u.cursor.idx !== null && u.cursor.idx !== undefined;
          if (!hovering) showLatest();
        },
      ],
    },
  },
  [[], [], [], [], []],
  chartBox,
);

/** The legend at the newest step (unless the cursor is reading an older one). */
function showLatest(): void {
  if (!hovering && history.steps.length > 0) chart.setLegend({ idx: history.steps.length - 1 }, false);
}

// The chart follows its column's width (down to a phone's), so the page never scrolls sideways.
new ResizeObserver(() => chart.setSize({ width: chartWidth(), height: 260 })).observe(chartBox);

let points: { x: Float32Array; y: Int32Array } | null = null;
let grid = 40;

function runLabel(run: number, agr: boolean): string {
  return `Run ${run + 1} (AGR ${agr ? 'on' : 'off'})`;
}

function drawBoundary(canvas: HTMLCanvasElement, boundary: Boundary): void {
  const context = canvas.getContext('2d') as CanvasRenderingContext2D;
  const image = context.createImageData(grid, grid);
  for (let i = 0; i < grid * grid; i++) {
    const [r, g, b] = CLASS_COLORS[boundary.classes[i] % CLASS_COLORS.length];
    // Lighter where the model is unsure.
    const strength = Math.max(0, Math.min(1, (boundary.confidence[i] - 0.5) * 2)) * 0.55 + 0.1;
    image.data.set(
      [255 - (255 - r) * strength, 255 - (255 - g) * strength, 255 - (255 - b) * strength, 255],
      i * 4,
    );
  }
  const scratch = new OffscreenCanvas(grid, grid);
  (scratch.getContext('2d') as OffscreenCanvasRenderingContext2D).putImageData(image, 0, 0);
  context.imageSmoothingEnabled = true;
  context.drawImage(scratch, 0, 0, canvas.width, canvas.height);
  if (!points) return;
  for (let i = 0; i < points.y.length; i++) {
    const px = ((points.x[2 * i] + 1.2) / 2.4) * canvas.width;
    const py = ((1.2 - points.x[2 * i + 1]) / 2.4) * canvas.height;
    const [r, g, b] = CLASS_COLORS[points.y[i] % CLASS_COLORS.length];
    context.fillStyle = `rgb(${r},${g},${b})`;
    context.strokeStyle = 'white';
    context.beginPath();
    context.arc(px, py, 2.5, 0, 2 * Math.PI);
    context.fill();
    context.stroke();
  }
}

/** Horizontal bars, as HTML: label, bar, value. */
function bars(rows: { label: string; value: number; color: string; text: string }[], max: number): string {
  return rows
    .map(
      (r) =>
        `<div class="bar"><span class="bar-label">${r.label}</span><span class="bar-track"><span class="bar-fill" style="width:${max > 0 ? (100 * r.value) / max : 0}%;background:${r.color}"></span></span><span class="bar-value">${r.text}</span></div>`,
    )
    .join('');
}

function drawGradients(index: number, report: RunReport): void {
  const max = Math.max(...report.layers.map((l) => l.raw), 1e-12);
  const rows = report.layers.flatMap((l) => [
    { label: `${l.name}`, value: l.raw, color: '#868e96', text: `${l.raw.toExponential(2)} raw` },
    {
      label: '',
      value: l.afterAgr,
      color: RUN_COLORS[index],
      text: `${l.afterAgr.toExponential(2)} ${report.agr ? 'after AGR' : 'if AGR'}`,
    },
  ]);
  $(`norms-${index + 1}`).innerHTML = `<h3>${runLabel(index, report.agr)}</h3>${bars(rows, max)}`;
  const total = report.alpha.counts.reduce((a, b) => a + b, 0);
  const maxCount = Math.max(...report.alpha.counts, 1);
  const alphaRows = report.alpha.counts.map((count, b) => ({
    // The first bin also holds alpha = 0 (entries whose gradient is exactly zero).
    label: b === 0 ? '≤ 1e-8, or 0' : `1e${report.alpha.edges[b].toFixed(1)}`,
    value: count,
    color: RUN_COLORS[index],
    text: `${total > 0 ? ((100 * count) / total).toFixed(1) : 0}%`,
  }));
  $(`alpha-${index + 1}`).innerHTML = `<h3>${runLabel(index, report.agr)}</h3>${bars(alphaRows, maxCount)}`;
}

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (message: ToWorker) => worker.postMessage(message);
let running = false;
/** Counts resets; reports from an earlier one (still in flight) are dropped. */
let epoch = 0;

function setRunning(value: boolean): void {
  running = value;
  $<HTMLButtonElement>('start').disabled = value;
  $<HTMLButtonElement>('pause').disabled = !value;
  $<HTMLButtonElement>('step').disabled = value;
}

function reset(): void {
  const settings = readSettings();
  if (!checkSettings(settings)) {
    // Keep what is on screen; stop the runs until the settings are fixed.
    if (running) {
      setRunning(false);
      send({ type: 'pause' });
    }
    checkSettings(settings);
    return;
  }
  setRunning(false);
  history.steps.length = 0;
  for (const series of [...history.loss, ...history.accuracy]) series.length = 0;
  chart.setData([[], [], [], [], []]);
  $('step-count').textContent = '0';
  epoch++;
  // The data files sit beside the page (the worker's own URL is under assets/).
  $('backend').textContent = settings.backend === 'auto' ? 'timing the backends...' : 'starting...';
  send({ type: 'reset', settings, epoch, baseUrl: document.baseURI });
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const message = event.data;
  const state = (
    window as unknown as {
      playground: { backend: string; timings: Record<string, number>; errors: string[] };
    }
  ).playground;
  if (message.type === 'error') {
    setRunning(false);
    state.errors.push(message.message);
    $('error').textContent = message.message.split('\n')[0];
    $('error').hidden = false;
    return;
  }
  if (message.epoch !== epoch) return;
  if (message.type === 'onnx') {
    download(message.bytes, `agr-playground-run${message.run + 1}-step${message.step}.onnx`, message.probe);
    return;
  }
  if (message.type === 'ready') {
    state.backend = message.backend;
    state.timings = message.timings;
    const measured = Object.entries(message.timings)
      .map(([name, ms]) => `${name} ${ms.toFixed(1)} ms/step`)
      .join(', ');
    $('backend').textContent =
      `backend: ${message.backend}${message.backend.startsWith('gpu') ? ' (gpu.js, in a Web Worker)' : ' (in a Web Worker)'}` +
      (measured ? ` · auto picked the faster: ${measured}` : '');
    points = message.points;
    grid = message.grid;
    $('no-boundary').hidden = message.points !== null;
    for (const k of [1, 2])
      ($(`boundary-${k}`).parentElement as HTMLElement).hidden = message.points === null;
    $('graph').innerHTML = graphSvg(message.graph);
    $('graph-size').textContent = `${message.graph.nodes.length} tensors`;
    $('error').hidden = true;
    return;
  }
  // A report: append to the curves, redraw the rest.
  $('step-count').textContent = String(message.step);
  message.runs.forEach((run, k) => {
    $(`caption-${k + 1}`).textContent = runLabel(k, run.agr);
    drawGradients(k, run);
  });
  if (message.step > 0 && history.steps[history.steps.length - 1] !== message.step) {
    history.steps.push(message.step);
    message.runs.forEach((run, k) => {
      history.loss[k].push(run.loss);
      history.accuracy[k].push(run.accuracy);
    });
    chart.setData([
      history.steps,
      history.loss[0],
      history.loss[1],
      history.accuracy[0],
      history.accuracy[1],
    ]);
    showLatest();
  }
  if (message.boundaries) {
    message.boundaries.forEach((b, k) => {
      drawBoundary($(`boundary-${k + 1}`) as HTMLCanvasElement, b);
    });
  }
};

$('start').onclick = () => {
  setRunning(true);
  send({ type: 'start' });
};
$('pause').onclick = () => {
  setRunning(false);
  send({ type: 'pause' });
};
$('step').onclick = () => {
  if (!running) send({ type: 'step', count: 1 });
};
$('reset').onclick = reset;
for (const run of [0, 1] as const) $(`export-${run + 1}`).onclick = () => send({ type: 'export', run });

/** Saves the bytes as a file through the browser's download, and notes it for the tests. */
function download(
  bytes: Uint8Array,
  name: string,
  probe: { input: Float32Array; shape: number[]; logits: Float32Array },
): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  (window as unknown as { playground: { lastExport: unknown } }).playground.lastExport = {
    name,
    probe: { input: [...probe.input], shape: probe.shape, logits: [...probe.logits] },
  };
}
// Any change of a setting starts over, as in the TensorFlow Playground.
for (const id of [
  'dataset',
  'hidden',
  'optimizer',
  'lr',
  'weightDecay',
  'batchSize',
  'seed',
  'agr-1',
  'agr-2',
  'backendChoice',
]) {
  $(id).addEventListener('change', reset);
}
reset();
