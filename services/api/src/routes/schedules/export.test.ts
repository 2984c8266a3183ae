import { get, type IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, test as base } from 'vitest';
import { apiFixture, type TestApi } from '../../testing.ts';
import { makeSchedule, makeShift } from './test-factories.ts';

const test = base.extend<{ api: TestApi }>({ api: apiFixture({ cache: 'none' }) });
const oneExport = base.extend<{ api: TestApi }>({ api: apiFixture({ cache: 'none', env: { EXPORT_MAX_CONCURRENT: '1' } }) });

/** Minimal RFC 4180 parser (quoted fields, doubled quotes, CRLF records). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; }
    else field += c;
  }
  return rows;
}

/** Unfolds iCalendar content lines and returns each VEVENT as a property map. */
function parseIcs(text: string): { lines: string[]; events: Record<string, string>[] } {
  const lines = text.split('\r\n');
  const unfolded: string[] = [];
  for (const l of lines) {
    if (l.startsWith(' ')) unfolded[unfolded.length - 1] += l.slice(1);
    else if (l !== '') unfolded.push(l);
  }
  const events: Record<string, string>[] = [];
  let cur: Record<string, string> | null = null;
  for (const l of unfolded) {
    if (l === 'BEGIN:VEVENT') cur = {};
    else if (l === 'END:VEVENT') { events.push(cur!); cur = null; }
    else if (cur) { const i = l.indexOf(':'); cur[l.slice(0, i)] = l.slice(i + 1); }
  }
  return { lines, events };
}

// A handle on the collector, so heap samples measure live memory rather than uncollected garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function bigSchedule(api: TestApi, n: number): Promise<{ s: string; token: string }> {
  const dept = await api.makeDepartment({ name: 'Big' });
  const { token } = await api.login('admin', dept);
  const t = await api.makeTemplate({ departmentId: dept, code: 'D', start: '08:00', end: '16:00' });
  const s = await makeSchedule(api, { departmentId: dept, start: '2026-01-01', end: '2026-12-31' });
  // 365 days × 137 open slots ≥ 50,000 shifts.
  await api.tdb.db.query(
    `INSERT INTO shifts (schedule_id, department_id, employee_id, template_id, date, open_slot, starts_at, ends_at)
     SELECT $1, $2, NULL, $3, d::date, slot, d + time '08:00', d + time '16:00'
       FROM generate_series('2026-01-01'::date, '2026-12-31'::date, interval '1 day') d, generate_series(1, 137) slot
      LIMIT $4`, [s, dept, t, n]);
  return { s, token };
}

describe('schedule export', () => {
  test('CSV and ICS of a small schedule: quoting, escaping, UTC times across midnight and DST', async ({ api }) => {
    const dept = await api.makeDepartment({ name: 'Ward, "East"', timezone: 'Europe/Berlin' });
    const { token } = await api.login('manager', dept);
    const night = await api.makeTemplate({ departmentId: dept, code: 'N', start: '22:00', end: '06:00' });
    const ann = await api.makeEmployee({ departmentId: dept, firstName: 'Ann "Nan"', lastName: 'Lee, Jr' });
    const s = await makeSchedule(api, { departmentId: dept, start: '2026-03-28', end: '2026-03-29' });
    const a = await makeShift(api, { scheduleId: s, employeeId: ann, templateId: night, date: '2026-03-28' }); // DST starts that night
    const b = await makeShift(api, { scheduleId: s, employeeId: null, templateId: night, date: '2026-03-29' });

    const csv = await api.request('GET', `/v1/schedules/${s}/export?format=csv`, { token });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toContain(`schedule-${s}-v1.csv`);
    const rows = parseCsv(csv.text);
    expect(rows[0]).toEqual(['shift_id', 'date', 'starts_at', 'ends_at', 'employee_id', 'employee_name', 'email', 'template_code', 'template_name', 'status', 'source']);
    expect(rows).toHaveLength(3);
    // 22:00 CET = 21:00Z; 06:00 CEST (after the clocks went forward) = 04:00Z: a 7-hour night.
    expect(rows[1]!.slice(0, 6)).toEqual([a, '2026-03-28', '2026-03-28T21:00:00.000Z', '2026-03-29T04:00:00.000Z', ann, 'Ann "Nan" Lee, Jr']);
    expect(rows[2]!.slice(0, 6)).toEqual([b, '2026-03-29', '2026-03-29T20:00:00.000Z', '2026-03-30T04:00:00.000Z', '', '']);

    const ics = await api.request('GET', `/v1/schedules/${s}/export?format=ics`, { token });
    expect(ics.status).toBe(200);
    expect(ics.headers.get('content-type')).toContain('text/calendar');
    const { lines, events } = parseIcs(ics.text);
    expect(lines[0]).toBe('BEGIN:VCALENDAR');
    expect(ics.text.endsWith('END:VCALENDAR\r\n')).toBe(true);
    expect(ics.text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/); // every line break is CRLF
    for (const l of lines) expect(Buffer.byteLength(l)).toBeLessThanOrEqual(75);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ UID: `shift-${a}@rota`, DTSTART: '20260328T210000Z', DTEND: '20260329T040000Z', SUMMARY: 'N – Ann "Nan" Lee\\, Jr' });
    expect(events[1]).toMatchObject({ UID: `shift-${b}@rota`, SUMMARY: 'N – Open shift' });
    expect(events.map((e) => e['SEQUENCE'])).toEqual(['1', '1']);

    // A manual edit of one shift raises that event's SEQUENCE only (RFC 5545 §3.8.7.4), even at once.
    const edit = await api.request('PATCH', `/v1/shifts/${a}`, { token, body: { status: 'confirmed' } });
    expect(edit.status, edit.text).toBe(200);
    const edited = parseIcs((await api.request('GET', `/v1/schedules/${s}/export?format=ics`, { token })).text).events;
    expect(edited.map((e) => [e['STATUS'], e['SEQUENCE']])).toEqual([['CONFIRMED', '2'], ['TENTATIVE', '1']]);
    // Later edits keep raising it.
    await api.tdb.db.query(`UPDATE shifts SET updated_at = created_at + interval '75 seconds' WHERE id = $1`, [a]);
    const later = parseIcs((await api.request('GET', `/v1/schedules/${s}/export?format=ics`, { token })).text).events;
    expect(later.map((e) => e['SEQUENCE'])).toEqual(['76', '1']);
  });

  test('streams 50,000 shifts from a cursor with bounded memory', async ({ api }) => {
    const { s, token } = await bigSchedule(api, 50_000);

    // Warm-up: the first export also pays for one-time allocations (compiled code, pool clients).
    await (await fetch(`${api.url}/v1/schedules/${s}/export?format=csv`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    for (const format of ['csv', 'ics'] as const) {
      gc();
      const baseline = process.memoryUsage().heapUsed;
      let peak = baseline;
      const res = await fetch(`${api.url}/v1/schedules/${s}/export?format=${format}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let bytes = 0;
      let chunks = 0;
      let count = 0;
      let carry = '';
      let first: string | undefined;
      let last = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
        const text = carry + decoder.decode(value, { stream: true });
        const cut = text.lastIndexOf('\r\n');
        const complete = text.slice(0, cut + 2);
        carry = text.slice(cut + 2);
        count += format === 'csv' ? complete.split('\r\n').length - 1 : complete.split('BEGIN:VEVENT').length - 1;
        first ??= complete.slice(0, 400);
        last = (last + complete).slice(-200);
        if (++chunks % 50 === 0) {
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed);
        }
      }
      if (format === 'csv') {
        expect(count).toBe(50_001); // header + rows
        expect(parseCsv(first!.slice(0, first!.indexOf('\r\n', first!.indexOf('\r\n') + 2) + 2))[1]!.slice(1, 5)).toEqual(['2026-01-01', '2026-01-01T08:00:00.000Z', '2026-01-01T16:00:00.000Z', '']);
      } else {
        expect(count).toBe(50_000);
        expect(last.endsWith('END:VEVENT\r\nEND:VCALENDAR\r\n')).toBe(true);
      }
      // The whole body (several MB) never sits in memory at once: the heap grows far less than the output.
      expect(bytes).toBeGreaterThan(4_000_000);
      // Materialising the 50,000 rows alone would take well over 10 MB.
      expect(peak - baseline, `heap growth exporting ${bytes} bytes of ${format}`).toBeLessThan(4 * 1024 * 1024);
    }
  }, 120_000);

  oneExport('beyond EXPORT_MAX_CONCURRENT an export is refused with 503 and Retry-After, and its slot comes back when the slow one ends', async ({ api }) => {
    const { s, token } = await bigSchedule(api, 50_000);
    const url = `${api.url}/v1/schedules/${s}/export?format=ics`;
    // A client that reads nothing: the export (≈ 15 MB) waits for 'drain' holding its connection.
    const slow = await new Promise<IncomingMessage>((resolve, reject) => {
      get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => { res.pause(); resolve(res); }).on('error', reject);
    });
    expect(slow.statusCode).toBe(200);
    const inProgress = async (): Promise<string | undefined> => /^api_exports_in_progress(?:\{[^}]*\})? (\S+)$/m.exec((await api.request('GET', '/metrics')).text)?.[1];
    expect(await inProgress()).toBe('1');

    const refused = await api.request('GET', `/v1/schedules/${s}/export?format=csv`, { token });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.body.error).toMatchObject({ code: 'unavailable' });
    // Nothing else is held up: the pool still serves the schedule itself.
    expect((await api.request('GET', `/v1/schedules/${s}`, { token })).status).toBe(200);

    slow.destroy(); // the client goes away: the export stops and gives its slot back
    await expect.poll(inProgress, { timeout: 10_000 }).toBe('0');
    const again = await fetch(`${api.url}/v1/schedules/${s}/export?format=csv`, { headers: { authorization: `Bearer ${token}` } });
    expect(again.status).toBe(200);
    expect((await again.text()).split('\r\n').length).toBe(50_002); // header + rows + the empty tail
  }, 120_000);
});

