/**
 * Escapes text for a Bot API message sent with `parse_mode: 'HTML'`: `&`, `<`, `>` and `"` become
 * `&amp;`, `&lt;`, `&gt;` and `&quot;`, the named entities Telegram accepts. Run every interpolated
 * value through it (owner titles, usernames, tier names): one stray `<` makes Telegram refuse the
 * whole message with 400 "can't parse entities". `"` matters inside `href="…"` attributes.
 */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
