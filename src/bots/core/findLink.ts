/**
 * The link in a chat message that a user wants separated. This only extracts: the worker's link guard decides
 * whether the address may be fetched (private networks, redirects, sizes).
 */

/** Markdown links `[text](target)` and `[text](<target> "title")`, with one level of parentheses in the target. */
const MARKDOWN_LINK = /\[[^\]\n]*\]\(\s*<?((?:[^\s()<>]|\([^\s()<>]*\))+)>?(?:\s+"[^"\n]*")?\s*\)/g;
/**
 * A URL starts at "http://" or "https://" (any case) not glued to a longer scheme ("svn+https://") or word, and
 * runs to whitespace, an angle bracket, a double quote or a backtick.
 */
const CANDIDATE = /(?<![\p{L}\p{N}+.-])https?:\/\/[^\s<>"`]+/giu;
/** Punctuation that ends a sentence rather than a URL (ASCII, CJK and Markdown emphasis). */
const TRAILING = new Set([...`.,:;!?'*_~`, '。', '，', '、', '！', '？', '：', '；', '…']);
const CLOSERS: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' };

/**
 * The first http(s) URL in `text`, normalised by the WHATWG URL parser (scheme and host in lower case, "/" path
 * added), or null when there is none. Accepted:
 * - bare URLs, with sentence punctuation after them dropped ("see https://x.com/a." → "https://x.com/a"), and a
 *   closing ")", "]" or "}" dropped only when the URL has no opening one (Wikipedia-style "(…)" paths survive);
 * - `<https://…>` (Discord's no-embed form) and Markdown `[text](https://…)` (the target, never the text).
 * Other schemes (ftp:, file:, javascript:, data:) and strings that do not parse as a URL with a host are skipped.
 */
export function findAudioLink(text: string): string | null {
  // Markdown targets are put in place of their link, so "first" still means first in the text.
  const flattened = text.replace(MARKDOWN_LINK, (_match, target: string) => ` ${target} `);
  for (const match of flattened.matchAll(CANDIDATE)) {
    const url = parseHttpUrl(trimTrailing(match[0]));
    if (url !== null) return url;
  }
  return null;
}

function trimTrailing(candidate: string): string {
  let url = candidate;
  while (url.length > 0) {
    const last = url[url.length - 1];
    if (TRAILING.has(last)) {
      url = url.slice(0, -1);
      continue;
    }
    const opener = CLOSERS[last];
    if (opener !== undefined && count(url, opener) < count(url, last)) {
      url = url.slice(0, -1);
      continue;
    }
    break;
  }
  return url;
}

function count(text: string, char: string): number {
  let n = 0;
  for (const c of text) if (c === char) n++;
  return n;
}

function parseHttpUrl(candidate: string): string | null {
  if (!URL.canParse(candidate)) return null;
  const url = new URL(candidate);
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return null;
  return url.href;
}
