/**
 * The multipart/form-data reader shared by the fake Telegram and Discord servers. Node's
 * `Request.formData()` rejects part headers that the real servers accept (grammY writes
 * `content-disposition:form-data;name="x";filename=a.mp3`: no spaces, unquoted filename), so the parts are
 * split here, leniently, keeping file bytes untouched.
 */

/** One file part (a part with a `filename`), as the client sent it. */
export interface MultipartFile {
  readonly field: string;
  readonly name: string;
  /** The part's content-type, `application/octet-stream` when it has none. */
  readonly type: string;
  readonly content: Buffer;
}

/** The boundary of a `multipart/form-data; boundary=…` content-type, or undefined when it has none. */
export function multipartBoundary(contentType: string): string | undefined {
  return /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
}

/** Splits a multipart body into text fields (in order, repeats kept) and file parts. */
export function parseMultipart(
  body: Buffer,
  boundary: string,
): { fields: [string, string][]; files: MultipartFile[] } {
  const fields: [string, string][] = [];
  const files: MultipartFile[] = [];
  const delimiter = Buffer.from(`--${boundary}`);
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const afterDelimiter = start + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break;
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), afterDelimiter);
    if (next === -1) break;
    const part = body.subarray(afterDelimiter + 2, next); // skip the CRLF after the delimiter
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headers = parsePartHeaders(part.subarray(0, headerEnd).toString('utf8'));
      const content = part.subarray(headerEnd + 4);
      const disposition = headers.get('content-disposition') ?? '';
      const name = dispositionParam(disposition, 'name');
      const filename = dispositionParam(disposition, 'filename');
      if (name !== undefined && filename !== undefined) {
        const type = headers.get('content-type') ?? 'application/octet-stream';
        files.push({ field: name, name: filename, type, content: Buffer.from(content) });
      } else if (name !== undefined) {
        fields.push([name, content.toString('utf8')]);
      }
    }
    start = next + 2;
  }
  return { fields, files };
}

function parsePartHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** A `name`/`filename` parameter of a content-disposition header, quoted or not. */
function dispositionParam(disposition: string, param: string): string | undefined {
  const match = new RegExp(`(?:^|;)\\s*${param}=(?:"([^"]*)"|([^;]*))`, 'i').exec(disposition);
  return match ? (match[1] ?? match[2].trim()) : undefined;
}
