/** '2026-12-29 14:05 UTC': unambiguous for subscribers anywhere. */
export function formatUtc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
