import { describe, expect, test } from 'vitest';
import { decodeEntry, encodeEntryTail, etagOf, shouldRefreshEarly } from './entry.ts';

describe('entry format', () => {
  test('round-trips meta and exact body bytes, newlines in the body included', () => {
    const body = Buffer.from('line1\nline2 r2 \n\u00e9');
    const tail = encodeEntryTail({ freshUntil: 1_795_000_000_123, loadMs: 12.3, etag: '"abc"' }, body);
    const raw = Buffer.concat([Buffer.from('r2 17,18 '), tail]);
    const e = decodeEntry(raw);
    expect(e).toMatchObject({ versions: '17,18', freshUntil: 1_795_000_000_123, loadMs: 13, etag: '"abc"' });
    expect(Buffer.compare(e!.body, body)).toBe(0);
  });

  test.each([
    ['not an entry', 'hello'],
    ['other format version (r1 kept the fresh window in the PTTL)', 'r1 1 0 1 "e"\nbody'],
    ['header without newline', 'r2 1 0 1 "e"'],
    ['missing field', 'r2 1 0 "e"\nbody'],
    ['non-numeric fresh-until', 'r2 1 x 1 "e"\nbody'],
  ])('rejects %s', (_name, raw) => {
    expect(decodeEntry(Buffer.from(raw))).toBeUndefined();
  });

  test('etag is stable per bytes and differs between bytes', () => {
    expect(etagOf(Buffer.from('a'))).toBe(etagOf(Buffer.from('a')));
    expect(etagOf(Buffer.from('a'))).not.toBe(etagOf(Buffer.from('b')));
  });
});

describe('XFetch', () => {
  test('never refreshes early with beta 0 or an unmeasured load', () => {
    expect(shouldRefreshEarly(1, 100, 0, 0.001)).toBe(false);
    expect(shouldRefreshEarly(1, 0, 1, 0.001)).toBe(false);
  });

  test('refreshes when -loadMs·beta·ln(rand) reaches the remaining fresh time', () => {
    // -100 · ln(0.5) ≈ 69.3 ms
    expect(shouldRefreshEarly(60, 100, 1, 0.5)).toBe(true);
    expect(shouldRefreshEarly(80, 100, 1, 0.5)).toBe(false);
  });

  test('the probability rises as expiry nears', () => {
    const rate = (remaining: number): number => {
      let hits = 0;
      for (let i = 1; i <= 1000; i++) if (shouldRefreshEarly(remaining, 50, 1, i / 1001)) hits++;
      return hits / 1000;
    };
    expect(rate(500)).toBeLessThan(rate(100));
    expect(rate(100)).toBeLessThan(rate(10));
    expect(rate(5_000)).toBe(0);
  });
});
