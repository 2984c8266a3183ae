import { Counter, Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import { deferredInc } from './metrics.ts';

describe('deferredInc', () => {
  test('counts show up exactly at every collection, per label set, next to direct increments', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 't_total', help: 'h', labelNames: ['r'] as const, registers: [registry] });
    const hit = deferredInc(counter, { r: 'hit' });
    const miss = deferredInc(counter, { r: 'miss' });
    const value = async (r: string): Promise<number | undefined> => (await counter.get()).values.find((v) => v.labels['r'] === r)?.value;
    expect(await value('hit')).toBe(0); // the series exists before the first increment
    hit(); hit(); hit(); miss();
    counter.inc({ r: 'hit' }, 10);
    expect(await value('hit')).toBe(13);
    expect(await value('miss')).toBe(1);
    hit();
    expect(await registry.metrics()).toContain('t_total{r="hit"} 14');
    expect(await value('hit')).toBe(14); // flushed once, not twice
  });
});
