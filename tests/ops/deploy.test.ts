/**
 * Consistency of the deployment files with the code (neither Docker nor Kubernetes runs on these
 * machines, so the manifests are checked here, not applied): every variable a manifest sets is one
 * a service reads, probes hit endpoints the services serve, the worker's termination grace covers
 * its shutdown grace, and the compose stack has every part of the system.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiEnvSchema } from '../../services/api/src/config.ts';
import { invalidatorEnvSchema } from '../../services/cache-invalidator/src/config.ts';
import { workerEnvSchema } from '../../services/scheduler-worker/src/index.ts';
import { readYaml, readYamlDocuments, repoRoot } from './support.ts';

type Json = Record<string, any>;
const schemas: Record<string, { shape: Record<string, unknown>; parse(v: unknown): unknown }> = {
  api: apiEnvSchema, 'scheduler-worker': workerEnvSchema, 'cache-invalidator': invalidatorEnvSchema,
};
const reads = (service: string): string[] => Object.keys(schemas[service]!.shape);

const k8sDir = resolve(repoRoot, 'infra/k8s');
const k8sFiles = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
  .flatMap((e) => (e.isDirectory() ? k8sFiles(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : []));
const docs = k8sFiles(k8sDir).flatMap((f) => readYamlDocuments(f) as Json[]);
const byKind = (kind: string): Json[] => docs.filter((d) => d['kind'] === kind);
const configMaps = new Map(byKind('ConfigMap').map((c) => [c['metadata']['name'] as string, c['data'] as Record<string, string>]));
const secrets = new Map(byKind('Secret').map((c) => [c['metadata']['name'] as string, c['stringData'] as Record<string, string>]));
const deployments = byKind('Deployment');

describe('infra/k8s', () => {
  it('has a Deployment, a Service and a PodDisruptionBudget per service, an HPA for the API and a ScaledObject for the worker', () => {
    for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget']) {
      expect(byKind(kind).map((d) => d['metadata']['name']).sort(), kind).toEqual(['api', 'cache-invalidator', 'scheduler-worker']);
    }
    expect(byKind('HorizontalPodAutoscaler').map((d) => d['spec']['scaleTargetRef']['name'])).toEqual(['api']);
    expect(byKind('ScaledObject').map((d) => d['spec']['scaleTargetRef']['name'])).toEqual(['scheduler-worker']);
  });

  it('kustomization.yaml lists every manifest except the Secret template', () => {
    const k = readYaml<Json>(join(k8sDir, 'kustomization.yaml'));
    const listed = new Set((k['resources'] as string[]).map((r) => resolve(k8sDir, r)));
    const files = k8sFiles(k8sDir).filter((f) => !f.endsWith('kustomization.yaml') && !f.endsWith('secret.example.yaml'));
    expect(files.filter((f) => !listed.has(f))).toEqual([]);
    expect([...listed].filter((f) => !files.includes(f))).toEqual([]);
  });

  describe.each(deployments.map((d) => [d['metadata']['name'] as string, d] as const))('Deployment %s', (name, d) => {
    const pod = d['spec']['template']['spec'] as Json;
    const container = (pod['containers'] as Json[])[0]!;
    const envKeys = (): Map<string, string> => {
      const out = new Map<string, string>();
      for (const src of container['envFrom'] as Json[]) {
        const cm = src['configMapRef']?.['name'] as string | undefined;
        const sec = src['secretRef']?.['name'] as string | undefined;
        const data = cm ? configMaps.get(cm) : sec ? secrets.get(sec) : undefined;
        expect(data, `envFrom ${cm ?? sec} exists`).toBeDefined();
        for (const [k, v] of Object.entries(data ?? {})) out.set(k, v);
      }
      return out;
    };

    it('selector matches the pod labels', () => {
      const sel = d['spec']['selector']['matchLabels'] as Record<string, string>;
      const labels = d['spec']['template']['metadata']['labels'] as Record<string, string>;
      for (const [k, v] of Object.entries(sel)) expect(labels[k]).toBe(v);
    });

    it('its own ConfigMap only sets variables the service reads, with values its schema accepts', () => {
      const own = configMaps.get(`rota-${name}-config`) ?? {};
      expect(Object.keys(own).filter((k) => !reads(name).includes(k))).toEqual([]);
      const env = Object.fromEntries(envKeys());
      expect(() => schemas[name]!.parse(env)).not.toThrow();
    });

    it("sets no variable of its own outside the ConfigMaps and the Secret, only Node's (NODE_OPTIONS)", () => {
      const env = (container['env'] ?? []) as Json[];
      expect(env.map((e) => e['name'] as string).filter((n) => n !== 'NODE_OPTIONS')).toEqual([]);
      // Under a memory limit of 512Mi or less Node's young generation is 1 MB semi-spaces: ~50 %
      // more CPU per API miss, ~45 % more per invalidated event (docs/performance.md, item 29).
      // The worker's 1536Mi already gets 32 MB ones.
      if (name !== 'scheduler-worker') expect(env.find((e) => e['name'] === 'NODE_OPTIONS')?.['value']).toMatch(/--max-semi-space-size=16\b/);
    });

    it('has resources, a liveness probe on /healthz and a probe port the container exposes', () => {
      expect(container['resources']['requests']['cpu']).toBeTruthy();
      expect(container['resources']['limits']['memory']).toBeTruthy();
      expect(container['livenessProbe']['httpGet']['path']).toBe('/healthz');
      const ports = (container['ports'] as Json[]).map((p) => p['name']);
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (container[probe]) expect(ports).toContain(container[probe]['httpGet']['port']);
      }
      if (name === 'api') expect(container['readinessProbe']['httpGet']['path']).toBe('/readyz');
    });

    it('exposes the port the service listens on and that Prometheus scrapes', () => {
      const env = envKeys();
      const port = Number(name === 'api' ? env.get('PORT') : env.get('METRICS_PORT'));
      expect((container['ports'] as Json[]).map((p) => p['containerPort'])).toContain(port);
      expect(d['spec']['template']['metadata']['annotations']['prometheus.io/port']).toBe(String(port));
    });
  });

  it("the worker's termination grace covers its shutdown grace, its forced-exit margin and the solver limit", () => {
    const w = deployments.find((d) => d['metadata']['name'] === 'scheduler-worker')!;
    const env = configMaps.get('rota-scheduler-worker-config')!;
    const grace = Number(env['SHUTDOWN_GRACE_SECONDS']);
    // main.ts forces an exit SHUTDOWN_GRACE_SECONDS + 30 s after SIGTERM.
    expect(w['spec']['template']['spec']['terminationGracePeriodSeconds']).toBeGreaterThan(grace + 30);
    expect(grace).toBeGreaterThan(Number(env['SOLVER_TIME_LIMIT_SECONDS']));
  });

  it("the worker's solver threads are set, not the node's cores, and its CPU request holds them", () => {
    const w = deployments.find((d) => d['metadata']['name'] === 'scheduler-worker')!;
    const env = configMaps.get('rota-scheduler-worker-config')!;
    const threads = Number(env['SOLVER_THREADS']);
    expect(threads).toBeGreaterThanOrEqual(1);
    const cpu = String(w['spec']['template']['spec']['containers'][0]['resources']['requests']['cpu']);
    const cores = cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu);
    expect(cores).toBe(threads * Number(env['WORKER_CONCURRENCY']));
  });

  it('the API refuses the Secret template\'s JWT_SECRET placeholder in production (the image sets NODE_ENV=production)', () => {
    const api = deployments.find((d) => d['metadata']['name'] === 'api')!;
    const env: Record<string, string> = { NODE_ENV: 'production' };
    for (const src of api['spec']['template']['spec']['containers'][0]['envFrom'] as Json[]) {
      Object.assign(env, configMaps.get(src['configMapRef']?.['name']) ?? secrets.get(src['secretRef']?.['name']) ?? {});
    }
    const r = apiEnvSchema.safeParse(env);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['JWT_SECRET']);
    expect(apiEnvSchema.safeParse({ ...env, JWT_SECRET: 'a-real-random-secret-of-more-than-32-characters' }).success).toBe(true);
  });

  it('shared settings are read by the services that receive them', () => {
    const shared = configMaps.get('rota-config')!;
    for (const k of Object.keys(shared)) expect(Object.keys(schemas).some((s) => reads(s).includes(k)), k).toBe(true);
    const secret = secrets.get('rota-secrets')!;
    for (const k of Object.keys(secret)) expect(Object.keys(schemas).some((s) => reads(s).includes(k)), k).toBe(true);
  });
});

describe('infra/compose.yaml', () => {
  const compose = readYaml<Json>(resolve(repoRoot, 'infra/compose.yaml'));
  const services = compose['services'] as Record<string, Json>;

  it('runs the whole system', () => {
    for (const s of ['postgres', 'redis', 'kafka', 'api', 'scheduler-worker', 'cache-invalidator', 'prometheus', 'grafana']) {
      expect(Object.keys(services)).toContain(s);
    }
  });

  it.each(Object.keys(schemas))('%s: every variable set is one the service reads', (name) => {
    const env = services[name]!['environment'] as Record<string, string>;
    expect(Object.keys(env).filter((k) => !reads(name).includes(k))).toEqual([]);
  });

  it("the worker's stop grace covers its shutdown grace", () => {
    const w = services['scheduler-worker']!;
    const grace = Number((w['environment'] as Record<string, string>)['SHUTDOWN_GRACE_SECONDS']);
    expect(Number(String(w['stop_grace_period']).replace(/s$/, ''))).toBeGreaterThan(grace + 30);
  });

  it('Prometheus and Grafana mount the files that exist in infra/', () => {
    const prom = services['prometheus']!;
    expect(prom['command']).toContain('--config.file=/etc/prometheus/prometheus.compose.yml');
    expect(prom['volumes']).toContain('./prometheus:/etc/prometheus:ro');
    expect(services['grafana']!['volumes']).toEqual(expect.arrayContaining(['./grafana/provisioning:/etc/grafana/provisioning:ro', './grafana/dashboards:/var/lib/grafana/dashboards:ro']));
    const provider = readYaml<Json>(resolve(repoRoot, 'infra/grafana/provisioning/dashboards/rota.yml'));
    expect(provider['providers'][0]['options']['path']).toBe('/var/lib/grafana/dashboards');
    const ds = readYaml<Json>(resolve(repoRoot, 'infra/grafana/provisioning/datasources/prometheus.yml'));
    expect(ds['datasources'][0]['uid']).toBe('prometheus');
    expect(ds['datasources'][0]['url']).toBe('http://prometheus:9090');
  });
});
