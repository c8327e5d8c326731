/** Longest slice of caller text copied into an error context, so a hostile megabyte string never reaches the logs. */
const MAX_TEXT_IN_CONTEXT = 64;

/** A loggable preview of caller-supplied text. */
export function previewText(text: string): string {
  return text.length <= MAX_TEXT_IN_CONTEXT ? text : `${text.slice(0, MAX_TEXT_IN_CONTEXT)}…(${text.length} chars)`;
}
