/**
 * Every Grafana panel query and every Prometheus rule works on the real system: the three services run as real
 * processes (tests/e2e/harness.ts: own database, Redis prefix, queue prefix, topics), a real
 * Prometheus scrapes them every second, a short load exercises the API (reads, writes, errors),
 * the event pipeline (outbox → Kafka → invalidator) and the generation queue (two jobs), and then
 * each panel's expression is evaluated through /api/v1/query. Grafana's interval variables are
 * replaced by a concrete range that covers the whole load. The same Prometheus loads the project's
 * recording and alert rules: every recorded series must have data, and every metric an alert or
 * recording rule reads must be one the services really export (the promtool unit tests cannot
 * catch a misspelt metric name: they feed the rules the same name).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type Harness } from '../e2e/harness.ts';
import { startPrometheus, type Sample, type TestPrometheus } from './prometheus.ts';
import { readYaml, repoRoot } from './support.ts';

type Target = { expr: string; refId: string };
type Panel = { type: string; title: string; targets?: Target[]; panels?: Panel[] };
type Dashboard = { uid: string; title: string; panels: Panel[] };

const dashDir = resolve(repoRoot, 'infra/grafana/dashboards');
const dashboards = readdirSync(dashDir).filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, d: JSON.parse(readFileSync(join(dashDir, f), 'utf8')) as Dashboard }));
const queries = dashboards.flatMap(({ file, d }) => {
  const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
  return flat(d.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ name: `${file} / ${p.title} / ${t.refId}`, expr: t.expr })));
});

type RuleFile = { groups: { rules: { record?: string; alert?: string; expr: string }[] }[] };
const ruleFiles = ['recording.yml', 'alerts.yml'].map((f) => resolve(repoRoot, 'infra/prometheus/rules', f));
const rules = ruleFiles.flatMap((f) => readYaml<RuleFile>(f).groups.flatMap((g) => g.rules));
const recorded = rules.flatMap((r) => (r.record ? [r.record] : []));

/**
 * Metric names a PromQL expression reads: identifiers that are not functions (followed by `(`),
 * not inside label matchers, strings or `by/on/without (...)` lists, not keywords, not recorded.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const keywords = new Set(['and', 'or', 'unless', 'by', 'on', 'without', 'ignoring', 'bool', 'offset']);
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const id = m[1]!;
    if (m[2] || keywords.has(id) || recorded.includes(id)) continue;
    names.add(id);
  }
  return [...names];
}
const ruleMetrics = [...new Set(rules.flatMap((r) => metricNames(r.expr)))].sort();

/** The load runs well under this; rate() over it sees every increase of the run. */
const RANGE = '3m';
const concrete = (expr: string): string => expr.replaceAll('$__rate_interval', RANGE).replaceAll('$__interval', RANGE).replaceAll('$__range', RANGE);

describe('Grafana dashboards against a real Prometheus scraping the real services', () => {
  let h: Harness;
  let prom: TestPrometheus;
  const results = new Map<string, Sample[]>();
  const runStatuses: string[] = [];
  const exported: string[] = [];

  beforeAll(async () => {
    h = await startHarness({ workerEnv: { SOLVER_TIME_LIMIT_SECONDS: '2' } });
    if (!h.worker || !h.invalidator) throw new Error('the harness must run the worker and the invalidator');
    const hostPort = (url: string): string => url.replace(/^http:\/\//, '');
    prom = await startPrometheus({
      scrapeInterval: '1s',
      ruleFiles,
      targets: {
        api: [hostPort(h.api.url)],
        'scheduler-worker': [hostPort(h.worker.url)],
        'cache-invalidator': [hostPort(h.invalidator.url)],
      },
    });
    await prom.waitForTargets();
    runStatuses.push(...await load(h));
    // Let Prometheus scrape the final state of every counter (1 s interval) before querying.
    await sleep(3000);
    for (const q of queries) results.set(q.name, await prom.query(concrete(q.expr)));
    for (const r of recorded) results.set(`record ${r}`, await prom.query(r));
    const names = await fetch(`${prom.url}/api/v1/label/__name__/values`).then((r) => r.json() as Promise<{ data: string[] }>);
    exported.push(...names.data);
  }, 300_000);

  afterAll(async () => {
    await prom?.stop();
    await h?.close();
  }, 60_000);

  it('has the dashboards the operators need, each with panels', () => {
    expect(dashboards.map((x) => x.d.uid).sort()).toEqual(['rota-api', 'rota-cache', 'rota-database', 'rota-events', 'rota-queue']);
    expect(queries.length).toBeGreaterThanOrEqual(40);
  });

  it('the load ran real generation jobs to success (so duration and score panels show real solves)', () => {
    expect(runStatuses).toEqual(['succeeded', 'succeeded']);
  });

  it('the metric-name extraction sees through PromQL syntax', () => {
    expect(metricNames('sum by (service, le) (rate(http_request_duration_seconds_bucket{route!~".*/(export|events)"}[5m])) > 0.5 and on (service) up == 0'))
      .toEqual(['http_request_duration_seconds_bucket', 'up']);
    expect(ruleMetrics).toEqual(expect.arrayContaining(['bullmq_job_count', 'kafka_consumer_lag', 'outbox_oldest_pending_age_seconds', 'cache_requests_total']));
  });

  it.each(ruleMetrics.map((m) => [m] as const))('rules read %s, which the services export', (m) => {
    expect(exported).toContain(m);
  });

  it.each(recorded.map((r) => [r] as const))('recording rule %s has data', (r) => {
    const samples = results.get(`record ${r}`) ?? [];
    expect(samples.length, `no data for ${r}`).toBeGreaterThan(0);
    expect(samples.some((x) => Number.isFinite(Number(x.value[1]))), `only NaN for ${r}: ${JSON.stringify(samples)}`).toBe(true);
  });

  it.each(queries.map((q) => [q.name, q] as const))('%s returns data', (_name, q) => {
    const samples = results.get(q.name);
    expect(samples, `query failed: ${q.expr}`).toBeDefined();
    expect(samples!.length, `no data for ${concrete(q.expr)}`).toBeGreaterThan(0);
    // A quantile or ratio of nothing is NaN: that is not data either.
    expect(samples!.some((s) => Number.isFinite(Number(s.value[1]))), `only NaN for ${concrete(q.expr)}: ${JSON.stringify(samples)}`).toBe(true);
  });
});

type Json = Record<string, any>;

async function ok(h: Harness, method: string, path: string, token: string, body?: unknown, expected = [200, 201, 202]): Promise<Json> {
  const r = await h.request(method, path, { token, body });
  if (!expected.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.body as Json;
}

/** API reads and writes (with change events), some 4xx, and two generation jobs. */
async function load(h: Harness): Promise<string[]> {
  const statuses: string[] = [];
  const token = await h.login();
  const dept = await ok(h, 'POST', '/v1/departments', token, { name: 'Ward 7', parentId: h.admin.departmentId, timezone: 'UTC' });
  const early = await ok(h, 'POST', `/v1/departments/${dept['id']}/shift-templates`, token, { code: 'E', name: 'Early', startTime: '07:00', endTime: '15:00' });
  const late = await ok(h, 'POST', `/v1/departments/${dept['id']}/shift-templates`, token, { code: 'L', name: 'Late', startTime: '15:00', endTime: '23:00' });
  const employees: Json[] = [];
  for (let i = 0; i < 6; i++) {
    employees.push(await ok(h, 'POST', '/v1/employees', token, {
      email: `dash-${i}@example.com`, firstName: `Dash${i}`, lastName: 'Board', departmentId: dept['id'], role: 'employee',
    }));
  }
  const start = new Date(Date.UTC(2031, 0, 6));
  const day = (offset: number): string => new Date(start.getTime() + offset * 86_400_000).toISOString().slice(0, 10);
  const rows = [];
  for (let d = 0; d < 14; d++) for (const t of [early, late]) rows.push({ date: day(d), templateId: t['id'], required: 2 });
  await ok(h, 'PUT', `/v1/departments/${dept['id']}/demand`, token, { rows });

  // Reads (misses, then hits), a few client errors, and writes that flow through the outbox.
  const reads = ['/v1/me', '/v1/departments', `/v1/employees?departmentId=${dept['id']}`, `/v1/departments/${dept['id']}/shift-templates`, '/v1/departments/tree'];
  for (let round = 0; round < 8; round++) {
    for (const p of reads) await ok(h, 'GET', p, token);
    await ok(h, 'GET', '/v1/employees/999999999', token, undefined, [404]);
    await ok(h, 'GET', '/v1/employees?limit=100000', token, undefined, [400]);
    await ok(h, 'PATCH', `/v1/employees/${employees[round % employees.length]!['id']}`, token, { firstName: `Renamed${round}` });
    await sleep(400);
  }
  const unauth = await h.request('GET', '/v1/me');
  expect(unauth.status).toBe(401);

  // Two generation jobs, one after the other, so that the duration histogram moves between scrapes.
  for (const [from, to] of [[day(0), day(6)], [day(7), day(13)]] as const) {
    const sub = await h.request('POST', '/v1/schedule-generations', {
      token, body: { departmentId: dept['id'], periodStart: from, periodEnd: to, options: { timeLimitSeconds: 1 } },
    });
    if (sub.status !== 202) throw new Error(`submit: ${sub.status} ${sub.text}`);
    const id = String((sub.body as Json)['id']);
    const run = await waitFor(`generation ${id} finished`, async () => {
      const r = await ok(h, 'GET', `/v1/schedule-generations/${id}`, token);
      return ['succeeded', 'failed', 'cancelled'].includes(String(r['status'])) ? r : undefined;
    }, 60_000, 250);
    statuses.push(run['status'] === 'succeeded' ? 'succeeded' : `${String(run['status'])}: ${String(run['error'])}`);
    await sleep(2500);
  }
  // Reads after the writes (invalidated entries refill) and the pipeline settled.
  for (const p of reads) await ok(h, 'GET', p, token);
  await waitFor('outbox drained', async () => {
    const r = await h.tdb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
    return r.rows[0]!.n === 0;
  }, 20_000, 100);
  return statuses;
}
