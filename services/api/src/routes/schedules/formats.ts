/**
 * Export formats for schedules: RFC 4180 CSV and RFC 5545 iCalendar, one shift per line/event,
 * plus the backpressure-aware writer that moves rows from a cursor to the response.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

export type ExportShift = {
  id: string; date: string; starts_at: Date; ends_at: Date; employee_id: string | null; employee_name: string | null;
  email: string | null; template_code: string; template_name: string; status: 'scheduled' | 'confirmed' | 'cancelled'; source: string;
  /** Seconds from the shift's creation to its last edit, rounded up (0 when never edited). */
  edited_seconds: number;
};

export type ExportHeader = { scheduleId: string; departmentName: string; periodStart: string; periodEnd: string; version: number };

// ---- CSV -------------------------------------------------------------------------------------

export const CSV_COLUMNS = ['shift_id', 'date', 'starts_at', 'ends_at', 'employee_id', 'employee_name', 'email', 'template_code', 'template_name', 'status', 'source'] as const;

/**
 * RFC 4180 field: quoted when it holds a comma, quote, CR or LF; quotes doubled. A field that a
 * spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, tab or CR — an employee
 * may name themselves `=HYPERLINK(…)`) gets a leading `'`, which spreadsheets show as text (OWASP
 * "CSV injection"). No column the export writes starts that way legitimately: ids, dates and
 * times start with a digit.
 */
export function csvField(v: string | null): string {
  if (v === null) return '';
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(fields: readonly (string | null)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

export function csvRow(s: ExportShift): string {
  return csvLine([s.id, s.date, s.starts_at.toISOString(), s.ends_at.toISOString(), s.employee_id, s.employee_name, s.email,
    s.template_code, s.template_name, s.status, s.source]);
}

// ---- iCalendar -------------------------------------------------------------------------------

/** TEXT value escaping (RFC 5545 §3.3.11). */
export function icsText(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r\n|\r|\n/g, '\\n');
}

/**
 * Folds a content line at 75 octets (RFC 5545 §3.1): continuation lines start with one space,
 * which counts toward their 75; a multi-byte UTF-8 character is never split. Lines end in CRLF.
 */
export function icsFold(line: string): string {
  if (Buffer.byteLength(line) <= 75) return `${line}\r\n`;
  let out = '';
  let current = '';
  let octets = 0;
  let limit = 75;
  for (const ch of line) {
    const n = Buffer.byteLength(ch);
    if (octets + n > limit) {
      out += `${current}\r\n `;
      current = '';
      octets = 0;
      limit = 74; // the leading space takes one octet
    }
    current += ch;
    octets += n;
  }
  return `${out}${current}\r\n`;
}

/** 20260105T070000Z */
export function icsUtc(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export function icsHeader(h: ExportHeader): string {
  return [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Rota//Schedule export//EN', 'CALSCALE:GREGORIAN', 'METHOD:PUBLISH',
    `X-WR-CALNAME:${icsText(`${h.departmentName} ${h.periodStart} – ${h.periodEnd}`)}`,
  ].map(icsFold).join('');
}

export const ICS_FOOTER = 'END:VCALENDAR\r\n';

const ICS_STATUS = { scheduled: 'TENTATIVE', confirmed: 'CONFIRMED', cancelled: 'CANCELLED' } as const;

/**
 * RFC 5545 §3.8.7.4: SEQUENCE must go up whenever an event is revised. The schedule's version goes
 * up on each regeneration and publish; a manual edit of a shift moves its updated_at. Their sum
 * never goes down and rises with either (two edits within the same second count once).
 */
export function icsSequence(s: Pick<ExportShift, 'edited_seconds'>, h: Pick<ExportHeader, 'version'>): number {
  return h.version + s.edited_seconds;
}

export function icsEvent(s: ExportShift, h: ExportHeader, dtstamp: string, host: string): string {
  const who = s.employee_name ?? 'Open shift';
  return [
    'BEGIN:VEVENT',
    `UID:shift-${s.id}@${host}`,
    `DTSTAMP:${dtstamp}`,
    `DTSTART:${icsUtc(s.starts_at)}`,
    `DTEND:${icsUtc(s.ends_at)}`,
    `SUMMARY:${icsText(`${s.template_code} – ${who}`)}`,
    `DESCRIPTION:${icsText(`${s.template_name}, ${h.departmentName}${s.email ? `\n${s.email}` : ''}\nschedule ${h.scheduleId} v${h.version}, ${s.source}`)}`,
    `STATUS:${ICS_STATUS[s.status]}`,
    `SEQUENCE:${icsSequence(s, h)}`,
    'END:VEVENT',
  ].map(icsFold).join('');
}

// ---- streaming -------------------------------------------------------------------------------

/** Waits for 'drain' or 'close'; a destination that takes longer than `stallMs` is destroyed. */
async function drainOrClose(out: Writable, stallMs: number): Promise<void> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      once(out, 'drain', { signal: ac.signal }),
      once(out, 'close', { signal: ac.signal }),
      new Promise<void>((resolve) => { timer = setTimeout(() => { out.destroy(); resolve(); }, stallMs); }),
    ]);
  } finally {
    clearTimeout(timer);
    ac.abort(); // removes the listeners that did not fire
  }
}

/** Bytes gathered before a write; large enough to keep syscalls few, small next to any heap. */
const CHUNK_BYTES = 64 * 1024;

/**
 * A client that reads nothing for this long loses the export: it would otherwise hold a database
 * connection (and its open cursor) for as long as it likes.
 */
export const DEFAULT_STALL_MS = 60_000;

/**
 * Writes `head`, one rendered string per row, then `tail` to `out`, waiting for 'drain' whenever
 * the stream's buffer is full, so at most one chunk plus the cursor's batch is in memory
 * whatever the number of rows. Stops early (returns false) when the destination closes (client
 * went away) or stalls longer than `stallMs`; the caller's `finally` then closes the cursor.
 */
export async function writeRows<R>(out: Writable, rows: AsyncIterable<R>, render: (row: R) => string, head: string, tail: string, stallMs = DEFAULT_STALL_MS): Promise<boolean> {
  let chunk = head;
  const flush = async (): Promise<boolean> => {
    if (out.destroyed || out.writableEnded) return false;
    const ok = out.write(chunk);
    chunk = '';
    if (!ok) {
      await drainOrClose(out, stallMs);
      if (out.destroyed) return false;
    }
    return true;
  };
  for await (const row of rows) {
    chunk += render(row);
    if (chunk.length >= CHUNK_BYTES && !(await flush())) return false;
  }
  chunk += tail;
  if (!(await flush())) return false;
  return true;
}
