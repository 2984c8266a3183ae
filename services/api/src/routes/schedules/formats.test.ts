import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { csvField, csvLine, icsEvent, icsFold, icsText, icsUtc, writeRows, type ExportShift } from './formats.ts';

describe('export formats', () => {
  test('CSV fields are quoted only when needed, quotes doubled', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField(null)).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvLine(['1', null, 'x,y'])).toBe('1,,"x,y"\r\n');
  });

  test('CSV fields a spreadsheet would run as a formula are turned into text', () => {
    expect(csvField('=HYPERLINK("http://evil.example","x")')).toBe(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\t=1')).toBe("'\t=1");
    expect(csvField('\r=1')).toBe(`"'\r=1"`);
    // Only a leading character matters; ordinary values are untouched.
    expect(csvField('Ann-Marie')).toBe('Ann-Marie');
    expect(csvField('a=b')).toBe('a=b');
    expect(csvField('2026-01-01T08:00:00.000Z')).toBe('2026-01-01T08:00:00.000Z');
  });

  test('iCalendar text escaping and UTC times', () => {
    expect(icsText('a;b,c\\d\ne')).toBe('a\\;b\\,c\\\\d\\ne');
    expect(icsUtc(new Date('2026-03-02T06:00:00.000Z'))).toBe('20260302T060000Z');
  });

  test('lines fold at 75 octets without splitting a UTF-8 character', () => {
    const line = `SUMMARY:${'é'.repeat(100)}`;
    const folded = icsFold(line);
    expect(folded.endsWith('\r\n')).toBe(true);
    const parts = folded.slice(0, -2).split('\r\n');
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(75);
    for (const p of parts.slice(1)) expect(p.startsWith(' ')).toBe(true);
    expect(parts.map((p, i) => (i === 0 ? p : p.slice(1))).join('')).toBe(line);
    expect(folded).not.toContain('\uFFFD');
    expect(icsFold('SHORT:x')).toBe('SHORT:x\r\n');
  });

  test('an event holds UID, UTC DTSTART/DTEND and escaped text', () => {
    const s: ExportShift = {
      id: '42', date: '2026-03-02', starts_at: new Date('2026-03-02T21:00:00Z'), ends_at: new Date('2026-03-03T05:00:00Z'),
      employee_id: '7', employee_name: 'Ann, "Nurse"; Smith', email: 'a@x.org', template_code: 'N', template_name: 'Night', status: 'confirmed', source: 'manual',
      edited_seconds: 90,
    };
    const ev = icsEvent(s, { scheduleId: '3', departmentName: 'Ward', periodStart: '2026-03-02', periodEnd: '2026-03-08', version: 2 }, '20260101T000000Z', 'rota');
    expect(ev).toContain('UID:shift-42@rota\r\n');
    expect(ev).toContain('DTSTART:20260302T210000Z\r\n');
    expect(ev).toContain('DTEND:20260303T050000Z\r\n');
    expect(ev).toContain('SUMMARY:N – Ann\\, "Nurse"\\; Smith\r\n');
    expect(ev).toContain('STATUS:CONFIRMED\r\n');
    expect(ev).toContain('SEQUENCE:92\r\n'); // version 2, edited 90 s after creation
  });

  test('writeRows waits for drain: rows are pulled only as fast as the destination consumes them', async () => {
    let pulled = 0;
    let consumedBytes = 0;
    const row = 'x'.repeat(1000);
    async function* rows(): AsyncGenerator<string> {
      for (let i = 0; i < 2000; i++) { pulled++; yield row; }
    }
    let maxAhead = 0;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) {
        consumedBytes += chunk.length;
        // Rows pulled but not yet consumed by the destination stay bounded by about two chunks.
        maxAhead = Math.max(maxAhead, pulled * 1000 - consumedBytes);
        setTimeout(cb, 1);
      },
    });
    const done = await writeRows(slow, rows(), (r) => r, 'head\n', 'tail\n');
    expect(done).toBe(true);
    slow.end();
    expect(consumedBytes).toBe(2000 * 1000 + 10);
    expect(maxAhead).toBeLessThan(200 * 1024);
  });

  test('writeRows stops (and closes the source) when the destination is destroyed', async () => {
    let closed = false;
    let pulled = 0;
    async function* rows(): AsyncGenerator<string> {
      try { for (;;) { pulled++; yield 'y'.repeat(1000); } } finally { closed = true; }
    }
    const dest = new Writable({ highWaterMark: 1024, write(_c, _e, cb) { setTimeout(cb, 5); } });
    setTimeout(() => dest.destroy(), 30);
    expect(await writeRows(dest, rows(), (r) => r, '', '')).toBe(false);
    expect(closed).toBe(true);
    expect(pulled).toBeLessThan(10_000);
  });

  test('writeRows gives up on a destination that stops reading', async () => {
    async function* rows(): AsyncGenerator<string> { for (;;) yield 'z'.repeat(1000); }
    const stuck = new Writable({ highWaterMark: 1024, write() { /* never calls back */ } });
    const started = Date.now();
    expect(await writeRows(stuck, rows(), (r) => r, '', '', 100)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(stuck.destroyed).toBe(true);
  });
});
