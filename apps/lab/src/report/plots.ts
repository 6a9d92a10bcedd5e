import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { writeFileAtomic } from '@agrad/nn';
import { initWasm, Resvg } from '@resvg/resvg-wasm';
import { PNG } from 'pngjs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

const require = createRequire(import.meta.url);
let wasmReady: Promise<void> | undefined;
let font: Uint8Array | undefined;

/** resvg has no system fonts in WebAssembly; DejaVu Sans comes from npm so PNGs look the same everywhere. */
function rasterizer(): Promise<void> {
  wasmReady ??= initWasm(readFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));
  font ??= readFileSync(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'));
  return wasmReady;
}

/** Renders a Vega-Lite spec to SVG (Vega's own renderer, no canvas needed). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Rasterises an SVG at twice its size on a white background. */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  await rasterizer();
  const resvg = new Resvg(svg, {
    font: {
      fontBuffers: [font as Uint8Array],
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
    fitTo: { mode: 'zoom', value: 2 },
    background: 'white',
  });
  const png = resvg.render().asPng();
  resvg.free();
  return png;
}

/** Writes `<name>.svg` and `<name>.png` into `dir`; returns the SVG's file name for the report. */
export async function writePlot(dir: string, name: string, spec: TopLevelSpec): Promise<string> {
  const svg = await renderSvg({ background: 'white', ...spec } as TopLevelSpec);
  writeFileAtomic(join(dir, `${name}.svg`), svg);
  writeFileAtomic(join(dir, `${name}.png`), await svgToPng(svg));
  return `${name}.svg`;
}

type Row = Record<string, string | number | null>;

/** A line chart of `y` against `x`, one line per `color`, optionally one panel per `facet`. */
export function lineChart(options: {
  rows: Row[];
  x: string;
  y: string;
  color: string;
  facet?: string;
  title: string;
  xTitle?: string;
  yTitle?: string;
  logY?: boolean;
  columns?: number;
  dash?: string;
  /** One line per value of this field within a colour (e.g. one per seed). */
  detail?: string;
  /** Start the y axis at zero (differences, where zero means "no effect"). */
  zeroY?: boolean;
  /** Panel order (default: alphabetical). */
  facetOrder?: string[];
}): TopLevelSpec {
  const { rows, x, y, color, facet, title, logY = false, columns = 3, dash, facetOrder, detail } = options;
  const encoding = {
    x: { field: x, type: 'quantitative' as const, title: options.xTitle ?? x },
    y: {
      field: y,
      type: 'quantitative' as const,
      title: options.yTitle ?? y,
      scale: logY ? { type: 'log' as const } : { zero: options.zeroY ?? false },
    },
    color: { field: color, type: 'nominal' as const, title: color, legend: { labelLimit: 320 } },
    ...(dash ? { strokeDash: { field: dash, type: 'nominal' as const, title: dash } } : {}),
    ...(detail ? { detail: { field: detail, type: 'nominal' as const } } : {}),
  };
  const layer = { mark: { type: 'line' as const, strokeWidth: 1.5 }, encoding };
  if (facet) {
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title,
      data: { values: rows },
      facet: { field: facet, type: 'nominal', title: null, ...(facetOrder ? { sort: facetOrder } : {}) },
      columns,
      spec: { width: 260, height: 180, ...layer },
      resolve: { scale: { x: 'independent', y: 'independent' } },
    } as TopLevelSpec;
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values: rows },
    width: 520,
    height: 280,
    ...layer,
  } as TopLevelSpec;
}

/** Bars of a mean with an error bar of +-1 standard deviation, per category. */
export function barChart(options: {
  rows: Array<{ label: string; mean: number; std: number; group?: string }>;
  title: string;
  yTitle: string;
}): TopLevelSpec {
  const rows = options.rows.map((r) => ({ ...r, low: r.mean - r.std, high: r.mean + r.std }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: options.title,
    data: { values: rows },
    width: 520,
    height: 260,
    layer: [
      {
        mark: 'point',
        encoding: {
          x: { field: 'label', type: 'nominal', title: null, sort: null },
          y: { field: 'mean', type: 'quantitative', title: options.yTitle, scale: { zero: false } },
          color: { field: 'group', type: 'nominal', title: null },
        },
      },
      {
        mark: 'errorbar',
        encoding: {
          x: { field: 'label', type: 'nominal', sort: null },
          y: { field: 'low', type: 'quantitative' },
          y2: { field: 'high' },
          color: { field: 'group', type: 'nominal' },
        },
      },
    ],
  } as TopLevelSpec;
}

/**
 * Tiles grey images in [0, 1] (each `height` x `width`) into a PNG grid, `columns` wide, each
 * pixel drawn as a `scale` x `scale` block.
 */
export function imageGridPng(
  pixels: Float32Array,
  count: number,
  height: number,
  width: number,
  options: { columns?: number; scale?: number; gap?: number } = {},
): Uint8Array {
  const { columns = Math.ceil(Math.sqrt(count)), scale = 2, gap = 2 } = options;
  const rows = Math.ceil(count / columns);
  const cellW = width * scale + gap;
  const cellH = height * scale + gap;
  const png = new PNG({ width: columns * cellW + gap, height: rows * cellH + gap });
  png.data.fill(255);
  for (let n = 0; n < count; n++) {
    const [row, col] = [Math.floor(n / columns), n % columns];
    for (let i = 0; i < height * scale; i++) {
      for (let j = 0; j < width * scale; j++) {
        const v = pixels[n * height * width + Math.floor(i / scale) * width + Math.floor(j / scale)];
        const grey = Math.round(255 * (1 - Math.min(1, Math.max(0, v))));
        const at = ((gap + row * cellH + i) * png.width + gap + col * cellW + j) * 4;
        png.data[at] = grey;
        png.data[at + 1] = grey;
        png.data[at + 2] = grey;
        png.data[at + 3] = 255;
      }
    }
  }
  return PNG.sync.write(png);
}
