/**
 * RFC 4180 CSV for spreadsheets people open: CRLF line ends, a field quoted when it holds a comma,
 * quote, CR or LF, quotes doubled inside. Cells are strings already (money as exact decimal strings,
 * never JS numbers).
 *
 * Formula injection: a spreadsheet runs a cell starting with `=`, `+`, `-`, `@` (and tab or CR) as
 * a formula, so such a cell gets a leading `'` — except a plain decimal number such as `-0.05`,
 * which no spreadsheet evaluates as anything but that number.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

export function csvCell(value: string | null): string {
  if (value === null) return '';
  const safe = FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** A whole CSV document: the header row, then one row per record, each line ending in CRLF. */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | null)[])[]): string {
  return [header, ...rows].map((row) => `${row.map(csvCell).join(',')}\r\n`).join('');
}
