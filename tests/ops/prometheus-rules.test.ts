import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePrometheus, markdownAnchors, readYaml, repoRoot, run } from './support.ts';

type Rule = { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
type RuleFile = { groups: { name: string; rules: Rule[] }[] };
type AlertTest = { alertname: string; eval_time: string; exp_alerts: unknown[] | null };
type TestFile = { tests: { alert_rule_test?: AlertTest[] }[] };

const promDir = resolve(repoRoot, 'infra/prometheus');
const ruleFiles = readdirSync(join(promDir, 'rules')).filter((f) => f.endsWith('.yml')).map((f) => join(promDir, 'rules', f));
const testFiles = readdirSync(join(promDir, 'tests')).filter((f) => f.endsWith('.yml')).map((f) => join(promDir, 'tests', f));
const alerts = ruleFiles.flatMap((f) => readYaml<RuleFile>(f).groups.flatMap((g) => g.rules)).filter((r): r is Rule & { alert: string } => r.alert !== undefined);
const alertTests = testFiles.flatMap((f) => readYaml<TestFile>(f).tests.flatMap((t) => t.alert_rule_test ?? []));

async function promtool(args: string[], cwd = promDir): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd });
    return { ok: true, out: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('Prometheus config and rules', () => {
  beforeAll(() => ensurePrometheus(), 300_000);

  it('has alerts and unit test files to check', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(13);
    expect(testFiles.length).toBeGreaterThan(0);
  });

  it.each(['prometheus.yml', 'prometheus.compose.yml'])('promtool check config %s', async (file) => {
    const r = await promtool(['check', 'config', file]);
    expect(r.out).not.toMatch(/FAILED/);
    expect(r.ok, r.out).toBe(true);
  });

  it('promtool check rules', async () => {
    const r = await promtool(['check', 'rules', ...ruleFiles]);
    expect(r.ok, r.out).toBe(true);
  });

  it('promtool test rules: every unit test passes', async () => {
    const r = await promtool(['test', 'rules', ...testFiles]);
    expect(r.out).not.toMatch(/FAILED/);
    expect(r.ok, r.out).toBe(true);
  });

  it.each(alerts.map((a) => [a.alert, a] as const))('%s has for, severity, summary and a runbook anchor that exists', (_name, a) => {
    expect(a.for).toMatch(/^\d+[smh]$/);
    expect(['warning', 'critical']).toContain(a.labels?.['severity']);
    expect(a.annotations?.['summary']).toBeTruthy();
    const url = a.annotations?.['runbook_url'] ?? '';
    const m = /^docs\/runbook\.md#([a-z0-9-]+)$/.exec(url);
    expect(m, `runbook_url ${url}`).not.toBeNull();
    expect(markdownAnchors(resolve(repoRoot, 'docs/runbook.md')).has(m?.[1] ?? '')).toBe(true);
  });

  it.each(alerts.map((a) => [a.alert] as const))('%s is unit-tested firing and not firing', (name) => {
    const cases = alertTests.filter((t) => t.alertname === name);
    expect(cases.some((t) => (t.exp_alerts ?? []).length > 0), 'a firing case').toBe(true);
    expect(cases.some((t) => (t.exp_alerts ?? []).length === 0), 'a not-firing case').toBe(true);
  });
});

/**
 * The unit tests must be able to fail: replace one alert's expression by one that never fires, or
 * by one that always fires, and `promtool test rules` has to report a failure.
 */
describe('the rule unit tests catch a broken alert', () => {
  let dir = '';
  beforeAll(() => {
    ensurePrometheus();
    dir = mkdtempSync(join(tmpdir(), 'rota-rules-'));
    cpSync(join(promDir, 'tests'), join(dir, 'tests'), { recursive: true });
    cpSync(join(promDir, 'rules'), join(dir, 'rules'), { recursive: true });
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function testWith(alert: string, expr: string): Promise<{ ok: boolean; out: string }> {
    for (const file of ruleFiles) {
      const doc = readYaml<RuleFile>(file);
      for (const g of doc.groups) for (const r of g.rules) if (r.alert === alert) r.expr = expr;
      // JSON is YAML: promtool reads the mutated copy as it is.
      writeFileSync(join(dir, 'rules', file.slice(file.lastIndexOf('/') + 1)), JSON.stringify(doc));
    }
    // Only the unit-test files that exercise this alert (the others cannot notice the change).
    const files = readdirSync(join(dir, 'tests')).map((f) => join(dir, 'tests', f))
      .filter((f) => readFileSync(f, 'utf8').includes(`alertname: ${alert}`));
    return promtool(['test', 'rules', ...files], dir);
  }

  it.each(alerts.map((a) => [a.alert] as const))('%s: never firing / always firing make the tests fail', async (name) => {
    const never = await testWith(name, 'vector(1) > 2');
    expect(never.ok).toBe(false);
    expect(never.out).toContain(`alertname: ${name}`);
    const always = await testWith(name, 'vector(1)');
    expect(always.ok).toBe(false);
    expect(always.out).toContain(`alertname: ${name}`);
  }, 60_000);
});
