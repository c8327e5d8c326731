import { Fragment, type ReactNode } from 'react';

/** A run of post text and whether Telegram shows it bold. */
export interface TextRun {
  text: string;
  bold: boolean;
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"' };

function unescape(text: string): string {
  return text.replace(/&(?:amp|lt|gt|quot);/g, (entity) => ENTITIES[entity] ?? entity);
}

/**
 * Splits a post's Telegram HTML into runs, the way Telegram renders it. Our posts use `<b>` only and
 * escape every owner text (`shared/telegram/html.ts`), so any other tag is shown as the text it is
 * rather than trusted: the preview never puts server text into the DOM as markup.
 */
export function telegramHtmlRuns(html: string): TextRun[] {
  const runs: TextRun[] = [];
  let bold = false;
  for (const part of html.split(/(<\/?b>)/)) {
    if (part === '<b>') bold = true;
    else if (part === '</b>') bold = false;
    else if (part !== '') runs.push({ text: unescape(part), bold });
  }
  return runs;
}

/** A post's text as Telegram shows it: bold runs, line breaks kept (CSS `white-space: pre-wrap`). */
export function TelegramText({ html }: { html: string }): ReactNode {
  return telegramHtmlRuns(html).map((run, index) => (run.bold ? <strong key={index}>{run.text}</strong> : <Fragment key={index}>{run.text}</Fragment>));
}
