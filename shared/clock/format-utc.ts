/** '2026-12-29 14:05 UTC': how every message shows a moment, unambiguous for readers anywhere. */
export function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
