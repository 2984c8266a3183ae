import client from 'prom-client';
import { describe, expect, test } from 'vitest';
import { FastHistogram } from './histogram.ts';
import { LATENCY_BUCKETS, createRegistry } from './metrics.ts';

/** The same observations into prom-client's Histogram and a FastHistogram, each on its registry. */
function both(observations: [Record<string, string>, number][], labelNames = ['method', 'route', 'status_code']) {
  const a = createRegistry('t');
  const b = createRegistry('t');
  const reference = new client.Histogram({ name: 'h_seconds', help: 'a histogram', labelNames, buckets: LATENCY_BUCKETS, registers: [a] });
  const fast = new FastHistogram({ name: 'h_seconds', help: 'a histogram', labelNames, buckets: LATENCY_BUCKETS, registers: [b] });
  for (const [labels, v] of observations) {
    reference.observe(labels, v);
    fast.observe(labels, v);
  }
  return { a, b, reference, fast };
}

const text = async (r: client.Registry): Promise<string> => (await r.getSingleMetricAsString('h_seconds'));

describe('FastHistogram', () => {
  test('exposes exactly what prom-client does for the same observations (bounds, between, beyond, several label sets)', async () => {
    const values = [0, 0.0004, 0.001, 0.0010001, 0.0025, 0.007, 0.3, 1, 9.99, 10, 11, 250];
    const obs: [Record<string, string>, number][] = [];
    for (const [i, v] of values.entries()) {
      obs.push([{ method: 'GET', route: '/v1/a', status_code: '200' }, v]);
      if (i % 3 === 0) obs.push([{ method: 'POST', route: '/v1/b', status_code: '409' }, v * 2]);
    }
    const { a, b } = both(obs);
    const expected = await text(a);
    expect(expected).toContain('h_seconds_bucket{le="0.001",service="t",method="GET",route="/v1/a",status_code="200"} 3');
    expect(await text(b)).toBe(expected);
    // And through the whole registry (default labels, the text /metrics serves).
    const lines = (s: string): string[] => s.split('\n').filter((l) => l.startsWith('h_seconds'));
    expect(lines(await b.metrics())).toEqual(lines(await a.metrics()));
  });

  test('children, partial label sets, zero, reset and startTimer agree with prom-client', async () => {
    const { a, b, reference, fast } = both([]);
    const ref = reference.labels({ method: 'GET', route: '/x', status_code: '200' });
    const child = fast.labels({ method: 'GET', route: '/x', status_code: '200' });
    for (const v of [0.002, 0.02, 2]) {
      ref.observe(v);
      child.observe(v);
    }
    reference.observe({ method: 'GET' }, 0.5);
    fast.observe({ method: 'GET' }, 0.5);
    reference.zero({ method: 'PUT', route: '/z', status_code: '204' });
    fast.zero({ method: 'PUT', route: '/z', status_code: '204' });
    expect(await text(b)).toBe(await text(a));
    reference.reset();
    fast.reset();
    expect((await fast.get()).values.every((v) => v.value === 0)).toBe(true);
    const end = fast.labels({ method: 'GET', route: '/t', status_code: '200' }).startTimer();
    await new Promise((r) => setTimeout(r, 20));
    const s = end();
    expect(s).toBeGreaterThanOrEqual(0.015);
    const sum = (await fast.get()).values.find((v) => v.metricName === 'h_seconds_sum' && v.labels['route'] === '/t');
    expect(sum?.value).toBe(s);
  });

  test('refuses what prom-client refuses: an undeclared label, a non-finite value, an le label', () => {
    const fast = new FastHistogram({ name: 'x_seconds', help: 'x', labelNames: ['a'], buckets: [1, 2] });
    expect(() => fast.observe({ b: '1' } as never, 1)).toThrow(/not included in initial labelset/);
    expect(() => fast.observe({ a: '1' }, Number.NaN)).toThrow(TypeError);
    expect(() => new FastHistogram({ name: 'y', help: 'y', labelNames: ['le'], buckets: [1] })).toThrow(/reserved/);
    expect(() => new FastHistogram({ name: 'z', help: 'z', buckets: [] })).toThrow(/buckets/);
  });

  test('an observation costs well under prom-client\'s (same machine, same run)', () => {
    // Not a timing assertion on the machine's speed: the ratio of two loops run back to back.
    const { reference, fast } = both([]);
    const labels = { method: 'GET', route: '/v1/departments/tree', status_code: '200' };
    const run = (fn: (i: number) => void): number => {
      const t0 = performance.now();
      for (let i = 0; i < 50_000; i++) fn(i);
      return performance.now() - t0;
    };
    const ref = reference.labels(labels);
    const child = fast.labels(labels);
    run((i) => { ref.observe((i % 100) / 1000); child.observe((i % 100) / 1000); }); // warm-up
    const slow = run((i) => ref.observe((i % 100) / 1000));
    const quick = run((i) => child.observe((i % 100) / 1000));
    expect(quick).toBeLessThan(slow / 2);
  });
});
