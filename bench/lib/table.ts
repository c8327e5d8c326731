/** Plain-text tables for the terminal (and CI logs): no colours, columns padded to their widest cell. */
import type { BenchResult, BenchRow } from './results.js';
import { formatRatio } from './stats.js';

export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

function goalCell(row: BenchRow): string {
  if (row.goal === null) return '';
  return `${row.goal} ${row.meetsGoal === null ? '' : row.meetsGoal ? 'met' : 'NOT met'}`.trimEnd();
}

function rowCells(row: BenchRow): string[] {
  return [row.figure, row.subject, row.baseline ?? '—', formatRatio(row.ratio), goalCell(row)];
}

/** One bench's figures. */
export function formatRows(rows: readonly BenchRow[]): string {
  return formatTable(['figure', 'subject', 'baseline', 'ratio', 'goal'], rows.map(rowCells));
}

/** Every bench's figures in one table, a bench column first; `note` (failed, skipped) gets a line of its own. */
export function formatCombined(results: ReadonlyArray<{ name: string; result: BenchResult | undefined; note?: string }>): string {
  const rows: string[][] = [];
  for (const { name, result, note } of results) {
    const tag = `${name}${result?.quick ? ' (quick)' : ''}`;
    const figures = result?.rows ?? [];
    if (note !== undefined || figures.length === 0) rows.push([tag, note ?? 'no figures (see its output)', '', '', '', '']);
    figures.forEach((row, index) => rows.push([index === 0 && note === undefined ? tag : '', ...rowCells(row)]));
  }
  return formatTable(['bench', 'figure', 'subject', 'baseline', 'ratio', 'goal'], rows);
}
