// pnpm bench:invalidation — commit → invalidated latency through the whole pipeline:
// API write (outbox row in the transaction) → NOTIFY → relay → Kafka → cache-invalidator → Redis.
//
// All services run as real processes (tests/e2e/harness.ts) with the API's own post-commit
// invalidation OFF, so every bump measured here came through Kafka. BENCH_WRITES (default 1000)
// employee updates are sent at BENCH_RATE per second (default 50), spread over BENCH_EMPLOYEES
// employees (default 100, one department each). For each write the version key of its `emp:<id>`
// scope is polled (one MGET of all outstanding keys every ~2 ms) until it changes:
//   commit → invalidated = bump seen − response received   (the response is sent after COMMIT)
//   request → invalidated = bump seen − request sent        (upper bound, includes the request)
// The invalidator's own histogram (event occurredAt → bump done) is reported alongside. Baseline:
// a bare kafkajs produce → consume round trip at the same rate, in the same run.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHarness, metricValue } from '../tests/e2e/harness.ts';
import { settle, versionKey } from '../tests/e2e/helpers.ts';
import { kafkaRoundTrip } from '../tests/e2e/kafka-baseline.ts';

const WRITES = Number(process.env['BENCH_WRITES'] ?? 1000);
const RATE = Number(process.env['BENCH_RATE'] ?? 50);
const EMPLOYEES = Number(process.env['BENCH_EMPLOYEES'] ?? 100);
const TARGET_P99_MS = 250;
const TARGET_MAX_MS = 1000;

type Stats = { n: number; p50: number; p90: number; p99: number; max: number; mean: number };

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { n: s.length, p50: r(q(0.5)), p90: r(q(0.9)), p99: r(q(0.99)), max: r(s.at(-1) ?? Number.NaN), mean: r(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)) };
}

/** Quantile from Prometheus histogram buckets (upper bound of the bucket holding it). */
function histogramQuantile(text: string, name: string, q: number): number {
  const buckets: { le: number; count: number }[] = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}_bucket\\{.*le="([^"]+)".*\\}\\s+(\\S+)$`).exec(line);
    if (m) buckets.push({ le: m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), count: Number(m[2]) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  return (buckets.find((b) => b.count >= q * total)?.le ?? Number.NaN) * 1000;
}

const fmt = (s: Stats): string => `p50 ${s.p50} ms, p90 ${s.p90} ms, p99 ${s.p99} ms, max ${s.max} ms, mean ${s.mean} ms (n=${s.n})`;

async function main(): Promise<void> {
  console.log('starting services (api with its relay, cache-invalidator) ...');
  const h = await startHarness({ apiEnv: { CACHE_INVALIDATE_ON_WRITE: 'false' }, worker: false });
  try {
    const token = await h.login();
    // Departments and employees straight in SQL (no events), one employee per department.
    const depts = await h.tdb.db.query<{ id: string }>(
      `INSERT INTO departments (name, parent_id, timezone) SELECT 'Bench ' || g, $1, 'UTC' FROM generate_series(1, $2) g RETURNING id`,
      [h.admin.departmentId, EMPLOYEES]);
    const emps = await h.tdb.db.query<{ id: string }>(
      `INSERT INTO employees (email, first_name, last_name, role, department_id, password_hash)
       SELECT 'bench' || ord || '@example.com', 'Bench', 'E' || ord, 'employee', d, 'x'
         FROM unnest($1::bigint[]) WITH ORDINALITY AS u(d, ord) RETURNING id`, [depts.rows.map((r) => r.id)]);
    const employees = emps.rows.map((r) => r.id);
    await settle(h);

    // Warm-up: a few writes through the whole path (JIT, connections, metadata).
    for (let i = 0; i < 20; i++) {
      await h.request('PATCH', `/v1/employees/${employees[i % employees.length]}`, { token, body: { lastName: `Warm${i}` } });
    }
    await settle(h);
    const metricsBefore = await h.invalidator!.metrics();

    type Pending = { key: string; before: string | null; sent: number; responded?: number };
    const pending = new Set<Pending>();
    const fromResponse: number[] = [];
    const fromRequest: number[] = [];
    const failed: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling || pending.size > 0) {
        const list = [...pending].filter((p) => p.responded !== undefined);
        if (list.length > 0) {
          const values = await h.redis.mget(...list.map((p) => p.key));
          const now = performance.now();
          list.forEach((p, i) => {
            if (values[i] !== p.before) {
              fromResponse.push(Math.max(0, now - p.responded!));
              fromRequest.push(now - p.sent);
              pending.delete(p);
            } else if (now - p.sent > 10_000) {
              failed.push(`${p.key}: not invalidated after 10 s`);
              pending.delete(p);
            }
          });
        }
        await sleep(2);
      }
    })();

    console.log(`writing: ${WRITES} employee updates at ${RATE}/s over ${EMPLOYEES} employees ...`);
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < WRITES; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const emp = employees[i % employees.length]!;
      inflight.push((async () => {
        const key = versionKey('employees', `emp:${emp}`, h.prefix);
        const p: Pending = { key, before: await h.redis.get(key), sent: performance.now() };
        pending.add(p);
        const r = await h.request('PATCH', `/v1/employees/${emp}`, { token, body: { lastName: `W${i}` } });
        p.responded = performance.now();
        if (r.status !== 200) {
          pending.delete(p);
          failed.push(`write ${i}: ${r.status} ${r.text.slice(0, 200)}`);
        }
      })());
    }
    await Promise.all(inflight);
    const elapsed = (performance.now() - start) / 1000;
    polling = false;
    await poller;
    await settle(h);
    const metricsAfter = await h.invalidator!.metrics();

    const hist = {
      count: metricValue(metricsAfter, 'cache_invalidation_latency_seconds_count') - metricValue(metricsBefore, 'cache_invalidation_latency_seconds_count'),
      p50Ms: histogramQuantile(metricsAfter, 'cache_invalidation_latency_seconds', 0.5),
      p99Ms: histogramQuantile(metricsAfter, 'cache_invalidation_latency_seconds', 0.99),
      meanMs: Math.round(((metricValue(metricsAfter, 'cache_invalidation_latency_seconds_sum') - metricValue(metricsBefore, 'cache_invalidation_latency_seconds_sum'))
        / Math.max(1, metricValue(metricsAfter, 'cache_invalidation_latency_seconds_count') - metricValue(metricsBefore, 'cache_invalidation_latency_seconds_count'))) * 10_000) / 10,
    };

    console.log('baseline: bare kafkajs produce → consume round trip at the same rate ...');
    const base = await kafkaRoundTrip(h.kafkaBrokers, WRITES, RATE);

    const ours = stats(fromResponse);
    const upper = stats(fromRequest);
    const baseline = stats(base.samples);
    const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
    console.log(`commit → invalidated   : ${fmt(ours)}`);
    console.log(`request → invalidated  : ${fmt(upper)}`);
    console.log(`invalidator histogram  : n=${hist.count}, p50 ≤ ${hist.p50Ms} ms, p99 ≤ ${hist.p99Ms} ms (bucket bounds), mean ${hist.meanMs} ms (occurredAt → bump)`);
    console.log(`baseline kafka hop     : ${fmt(baseline)}${base.lost ? `, ${base.lost} lost` : ''}`);
    console.log(`rate achieved          : ${Math.round((WRITES / elapsed) * 10) / 10} writes/s; failures: ${failed.length}`);
    for (const f of failed.slice(0, 10)) console.log(`  ${f}`);
    const met = ours.p99 <= TARGET_P99_MS && ours.max <= TARGET_MAX_MS && failed.length === 0;
    console.log(`target p99 ≤ ${TARGET_P99_MS} ms, max ≤ ${TARGET_MAX_MS} ms: ${met ? 'met' : 'NOT met'}`);
    console.log(JSON.stringify({
      bench: 'invalidation',
      writes: WRITES,
      ratePerSec: RATE,
      achievedRatePerSec: Math.round((WRITES / elapsed) * 10) / 10,
      failures: failed.length,
      commitToInvalidatedMs: ours,
      requestToInvalidatedMs: upper,
      invalidatorHistogram: hist,
      baseline: { name: 'kafkajs produce→consume round trip', ms: baseline, lost: base.lost },
      ratios: { p50: ratio(ours.p50, baseline.p50), p99: ratio(ours.p99, baseline.p99), max: ratio(ours.max, baseline.max) },
      target: { p99Ms: TARGET_P99_MS, maxMs: TARGET_MAX_MS, met },
    }));
  } finally {
    await h.close();
  }
}

await main();
