// Access log lines from a request's Outcome (outcome.ts): JSON (one flat object, in the shape of
// the process's pino lines) or the Apache/nginx `combined` text format followed by this cache's
// result and the request time, so that existing log tooling reads it.
import type { Outcome } from './outcome.js';
import { cacheLabel } from './outcome.js';

export type AccessLogFormat = 'json' | 'combined';
export const ACCESS_LOG_FORMATS: readonly AccessLogFormat[] = ['json', 'combined'];

/**
 * The logged object: one flat object per request, this cache's decision spelled as its
 * Cache-Status member says it (ttl in whole seconds; an error code as `error`).
 */
export function accessLine(o: Outcome): Record<string, string | number | boolean> {
  const line: Record<string, string | number | boolean> = {
    method: o.method,
    path: o.path,
    host: o.host,
    status: o.status,
    bytes: o.bytes,
    durationMs: o.durationMs,
    remote: o.remote,
    cache: cacheLabel(o.cache),
  };
  const f = o.cache;
  if (f !== undefined) {
    // The same rules as formatCacheStatus (RFC 9211 §2): what the header says, the line says.
    if (f.fwdStatus !== undefined && Number.isInteger(f.fwdStatus)) line['fwdStatus'] = f.fwdStatus;
    if (f.ttlMs !== undefined && Number.isFinite(f.ttlMs)) line['ttl'] = Math.floor(f.ttlMs / 1000);
    if (f.stored === true) line['stored'] = true;
    if (f.collapsed === true) line['collapsed'] = true;
    if (f.detail !== undefined) {
      if (f.detail.startsWith('MCDN_')) line['error'] = f.detail;
      else line['detail'] = f.detail;
    }
  }
  if (o.aborted) line['aborted'] = true;
  return line;
}

/**
 * One JSON line as pino would write it at level info with message "request": `bindings` is the
 * process's fixed part (`"pid":1,"hostname":"h","edge":"e"`), stamped with the time it finished.
 */
export function jsonAccessLine(o: Outcome, bindings: string, nowMs: number): string {
  const fields = JSON.stringify(accessLine(o));
  return `{"level":30,"time":${nowMs}${bindings === '' ? '' : ',' + bindings},${fields.slice(1, -1)},"msg":"request"}\n`;
}

/** The fixed part of every JSON line, as pino's bindings: pid, hostname and the given ones. */
export function jsonBindings(bindings: Record<string, string | number | null>): string {
  return JSON.stringify(bindings).slice(1, -1);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** Apache's %t / nginx's $time_local: `10/Oct/2000:13:55:36 -0700`, in the process's time zone. */
export function timeLocal(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const zone = `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
  return `${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${zone}`;
}

/** The time of the last line, formatted: requests within one second share it. */
let lastSecond = -1;
let lastTimeLocal = '';
function cachedTimeLocal(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastTimeLocal = timeLocal(second * 1000);
  }
  return lastTimeLocal;
}

/**
 * A quoted field's content as nginx escapes it: `"` and `\`, control characters and bytes beyond
 * ASCII as \xHH, so that a client cannot end the field or the line. '-' when absent or empty.
 */
export function escapeLogField(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  // The common case has nothing to escape.
  if (/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (code >= 0x20 && code < 0x7f && ch !== '"' && ch !== '\\') out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += '\\x' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** What this cache did, for the combined line: `hit`, the fwd reason (`uri-miss`, ...), or `-`. */
function combinedCacheResult(o: Outcome): string {
  const f = o.cache;
  if (f === undefined) return '-';
  if (f.hit === true) return 'hit';
  return f.fwd ?? '-';
}

/**
 * `$remote_addr - - [$time_local] "$request" $status $body_bytes_sent "$http_referer"
 * "$http_user_agent" "$cache" $request_time` (the request time in seconds, to the millisecond),
 * with a newline.
 */
export function combinedAccessLine(o: Outcome): string {
  const request = o.method === '' ? '-' : escapeLogField(`${o.method} ${o.path} HTTP/${o.httpVersion}`);
  const seconds = (o.durationMs / 1000).toFixed(3);
  return `${o.remote === '' ? '-' : o.remote} - - [${cachedTimeLocal(o.time)}] "${request}" ${o.status} ${o.bodyBytes} "${escapeLogField(o.referer)}" "${escapeLogField(o.userAgent)}" "${combinedCacheResult(o)}" ${seconds}\n`;
}
