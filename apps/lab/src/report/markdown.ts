/** A GitHub-flavoured Markdown table; numbers are right-aligned. */
export function markdownTable(headers: string[], rows: Array<Array<string | number>>): string {
  const numeric = headers.map(
    (_, c) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.]/.test(String(r[c]))),
  );
  const line = (cells: Array<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(numeric.map((n) => (n ? '---:' : '---'))), ...rows.map(line)].join('\n');
}

/** The same table for a terminal: columns padded to their widest cell. */
export function textTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows].map((r) => r.map(String));
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  const format = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ');
  return [format(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(format)].join(
    '\n',
  );
}

/** "86.12 ± 0.31" with the given digits. */
export function meanStd(mean: number, std: number, digits = 2): string {
  if (Number.isNaN(mean)) return 'n/a';
  return Number.isNaN(std) ? mean.toFixed(digits) : `${mean.toFixed(digits)} ± ${std.toFixed(digits)}`;
}
