/**
 * Kubernetes scraping and rules through the Prometheus Operator (no cluster here: the manifests are
 * parsed and checked against the Deployments, the rule files and what the alerts and dashboards
 * select). KEDA queries the operator's Prometheus, so without these nothing would be scraped there.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePrometheus, readYaml, readYamlDocuments, repoRoot, run } from './support.ts';

type Json = Record<string, any>;
const k8s = (f: string): Json[] => readYamlDocuments(resolve(repoRoot, 'infra/k8s', f)) as Json[];
const podMonitors = k8s('monitoring/podmonitors.yaml');
const rule = k8s('monitoring/prometheusrule.yaml');
const deployments = ['api', 'scheduler-worker', 'cache-invalidator'].map((n) => k8s(`${n}/deployment.yaml`)[0]!);
const rulesDir = resolve(repoRoot, 'infra/prometheus/rules');
const ruleFiles = readdirSync(rulesDir).filter((f) => f.endsWith('.yml')).sort().map((f) => join(rulesDir, f));

/** Every `job="x"` / `job=~"a|b"` the alerts and the dashboards select. */
function jobsSelected(): Set<string> {
  const texts = [...ruleFiles, ...readdirSync(resolve(repoRoot, 'infra/grafana/dashboards')).map((f) => resolve(repoRoot, 'infra/grafana/dashboards', f))]
    .map((f) => readFileSync(f, 'utf8'));
  const jobs = new Set<string>();
  for (const t of texts) for (const m of t.matchAll(/\bjob=~?\\?"([a-z|-]+)\\?"/g)) for (const j of m[1]!.split('|')) jobs.add(j);
  return jobs;
}

describe('PodMonitors', () => {
  it('one per service, selecting its pods, on a port its container exposes, at /metrics', () => {
    expect(podMonitors.map((p) => p['kind'])).toEqual(['PodMonitor', 'PodMonitor', 'PodMonitor']);
    for (const d of deployments) {
      const name = d['metadata']['name'] as string;
      const pm = podMonitors.find((p) => p['metadata']['name'] === name);
      expect(pm, name).toBeDefined();
      const podLabels = d['spec']['template']['metadata']['labels'] as Record<string, string>;
      for (const [k, v] of Object.entries(pm!['spec']['selector']['matchLabels'] as Record<string, string>)) expect(podLabels[k], `${name} ${k}`).toBe(v);
      const ports = (d['spec']['template']['spec']['containers'][0]['ports'] as Json[]).map((p) => p['name']);
      for (const ep of pm!['spec']['podMetricsEndpoints'] as Json[]) {
        expect(ports, name).toContain(ep['port']);
        expect(ep['path']).toBe('/metrics');
      }
      expect(pm!['metadata']['labels']['app.kubernetes.io/part-of']).toBe('rota');
    }
  });

  it('give every target the job name the alerts and dashboards select', () => {
    const produced = new Set(podMonitors.map((pm) => {
      const d = deployments.find((x) => x['metadata']['name'] === pm['metadata']['name'])!;
      return d['spec']['template']['metadata']['labels'][pm['spec']['jobLabel']] as string;
    }));
    const selected = jobsSelected();
    expect(selected.size).toBeGreaterThanOrEqual(3);
    expect([...selected].filter((j) => !produced.has(j))).toEqual([]);
    // and the same job names as the plain Prometheus config
    const prom = readYaml<Json>(resolve(repoRoot, 'infra/prometheus/prometheus.yml'));
    const jobs = (prom['scrape_configs'] as Json[]).map((c) => c['job_name'] as string).filter((j) => j !== 'prometheus');
    expect([...produced].sort()).toEqual(jobs.sort());
  });
});

describe('PrometheusRule', () => {
  let dir: string;
  beforeAll(() => {
    ensurePrometheus();
    dir = mkdtempSync(join(tmpdir(), 'rota-rule-'));
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is generated from infra/prometheus/rules (bash infra/scripts/prometheus-rule.sh --check)', () => {
    const r = spawnSync('bash', [resolve(repoRoot, 'infra/scripts/prometheus-rule.sh'), '--check'], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('holds exactly the groups of the rule files, which promtool accepts', async () => {
    expect(rule).toHaveLength(1);
    expect(rule[0]!['kind']).toBe('PrometheusRule');
    const groups = ruleFiles.flatMap((f) => readYaml<Json>(f)['groups'] as Json[]);
    expect(rule[0]!['spec']['groups']).toEqual(groups);
    const file = join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify({ groups: rule[0]!['spec']['groups'] }));
    await expect(run('promtool', ['check', 'rules', file])).resolves.toBeDefined();
  });
});
