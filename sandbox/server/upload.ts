// File uploads as pveproxy takes them (pve-http-server src/PVE/APIServer/AnyEvent.pm
// file_upload_multipart): a multipart/form-data body with a Content-Length, the form fields
// `content`, `checksum-algorithm`, `checksum` before the file part named `filename`, the file's bytes
// streamed to a temporary file (never held whole in memory), whose name the handler gets as `tmpfilename`.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { IncomingMessage } from "http";
import { ApiError } from "./errors";
import type { RawValue } from "./validate";

/** PVE's upload paths: the only ones whose POST body may be multipart. */
export const UPLOAD_PATH = /^\/nodes\/[^/]+\/storage\/[^/]+\/upload$/;

/** Room for the form fields and the file part's headers before its data starts (AnyEvent.pm maxheader). */
const MAX_HEADER = 64 * 1024;

export interface ReceivedUpload {
  params: Record<string, RawValue>;
  tmpfilename: string;
}

/** AnyEvent.pm parse_content_type: the type and its `boundary`. */
function parseContentType(header: string): { type: string; boundary?: string } {
  const [type, ...rest] = header.split(/\s*[;,]\s*/);
  for (const part of rest) {
    const match = /^\s*boundary\s*=\s*(\S+?)\s*$/.exec(part);
    if (match) return { type: type.toLowerCase(), boundary: match[1].replace(/^"(.*)"$/, "$1") };
  }
  return { type: type.toLowerCase() };
}

/**
 * Receives an upload into `<dir>/pveupload-<hex>` (mode 0600). Errors are pveproxy's: 500 with its
 * message for a wrong content type, a missing length, a wrong field name or a body that ends early.
 */
export async function receiveUpload(req: IncomingMessage, query: Record<string, RawValue>, dir = os.tmpdir()): Promise<ReceivedUpload> {
  const header = String(req.headers["content-type"] ?? "");
  const { type, boundary } = parseContentType(header);
  if (!boundary || type !== "multipart/form-data") throw new ApiError(500, `upload 'Content-Type '${header}' not implemented`);
  if (!req.headers["content-length"]) throw new ApiError(500, "upload without content length header not supported");
  if ("tmpfilename" in query) throw new ApiError(500, "'tmpfilename' query parameter is not allowed for file uploads");

  const tmpfilename = path.join(dir, `pveupload-${crypto.randomBytes(16).toString("hex")}`);
  const out = fs.openSync(tmpfilename, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  const params: Record<string, RawValue> = { ...query };
  const delimiter = `--${boundary}`;
  // What may still be the closing delimiter is held back: CRLF, `--boundary--`, CRLF.
  const holdBack = boundary.length + 8;
  let pending: Buffer = Buffer.alloc(0);
  let inFile = false;
  let done = false;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (done) continue;
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (!inFile) {
        const text = pending.toString("latin1");
        const filePart = new RegExp(`${escape(delimiter)}\\r?\\nContent-Disposition: (.*?); name="(.*?)"; filename="([^"]+)"[^]*?\\r?\\n\\r?\\n`).exec(text);
        if (!filePart) {
          if (pending.length > MAX_HEADER) throw new ApiError(500, "upload failed");
          continue;
        }
        if (filePart[1] !== "form-data") throw new ApiError(500, `wrong Content-Disposition '${filePart[1]}' in multipart, expected 'form-data'`);
        if (filePart[2] !== "filename") throw new ApiError(500, `wrong field name '${filePart[2]}' for file upload, expected 'filename'`);
        Object.assign(params, formFields(text.slice(0, filePart.index + delimiter.length), delimiter));
        params.filename = filePart[3].trim();
        pending = pending.subarray(filePart.index + Buffer.byteLength(filePart[0], "latin1"));
        inFile = true;
      }
      const close = pending.indexOf(`${delimiter}--`, 0, "latin1");
      if (close >= 0) {
        let end = close;
        if (pending[end - 1] === 0x0a) end--;
        if (pending[end - 1] === 0x0d) end--;
        fs.writeSync(out, pending, 0, end);
        pending = Buffer.alloc(0);
        done = true;
      } else if (pending.length > holdBack) {
        fs.writeSync(out, pending, 0, pending.length - holdBack);
        pending = Buffer.from(pending.subarray(pending.length - holdBack));
      }
    }
    if (!done) throw new ApiError(500, "upload failed");
    return { params, tmpfilename };
  } catch (error) {
    fs.rmSync(tmpfilename, { force: true });
    throw error;
  } finally {
    fs.closeSync(out);
  }
}

/** The plain fields before the file part; AnyEvent.pm reads exactly these three, trimmed. */
function formFields(text: string, delimiter: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const name of ["content", "checksum-algorithm", "checksum"]) {
    const match = new RegExp(`${escape(delimiter)}\\r?\\nContent-Disposition: (.*?); name="${escape(name)}"[^]*?\\r?\\n\\r?\\n([^]*?)\\r?\\n?${escape(delimiter)}`).exec(text);
    if (!match) continue;
    if (match[1] !== "form-data") throw new ApiError(500, `wrong Content-Disposition '${match[1]}' in multipart, expected 'form-data'`);
    fields[name] = match[2].trim();
  }
  return fields;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
