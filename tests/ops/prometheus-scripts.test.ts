/**
 * infra/scripts/prometheus-up.sh / -down.sh: start our Prometheus (system binary, project config
 * and rules) on PROMETHEUS_PORT, idempotently, and stop exactly that process again.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../e2e/harness.ts';
import { readYaml, repoRoot } from './support.ts';

type RuleFile = { groups: { rules: { alert?: string; record?: string }[] }[] };

function script(name: string, port: number): { status: number | null; out: string } {
  const r = spawnSync('bash', [resolve(repoRoot, 'infra/scripts', name)], { env: { ...process.env, PROMETHEUS_PORT: String(port) }, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('prometheus-up.sh / prometheus-down.sh', () => {
  let port = 0;
  const run = resolve(repoRoot, '.run');
  afterAll(() => {
    if (!port) return;
    script('prometheus-down.sh', port);
    rmSync(join(run, `prometheus-${port}`), { recursive: true, force: true });
    rmSync(join(run, 'logs', `prometheus-${port}.log`), { force: true });
  });

  it('starts Prometheus with the project config and rules, is idempotent, and stops it', async () => {
    port = await freePort();
    const up = script('prometheus-up.sh', port);
    expect(up.status, up.out).toBe(0);
    expect(up.out).toContain(`ready at http://127.0.0.1:${port}`);
    const pidFile = join(run, `prometheus-${port}.pid`);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('infra/prometheus/prometheus.yml');

    // the project's rules are loaded
    const body = (await (await fetch(`http://127.0.0.1:${port}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string }[] }[] } };
    const loaded = body.data.groups.flatMap((g) => g.rules.map((r) => r.name)).sort();
    const expected = ['recording.yml', 'alerts.yml']
      .flatMap((f) => readYaml<RuleFile>(resolve(repoRoot, 'infra/prometheus/rules', f)).groups.flatMap((g) => g.rules.map((r) => r.alert ?? r.record ?? '')))
      .sort();
    expect(loaded).toEqual(expected);
    // and the three services are scrape targets
    const cfg = (await (await fetch(`http://127.0.0.1:${port}/api/v1/status/config`)).json()) as { data: { yaml: string } };
    for (const job of ['api', 'scheduler-worker', 'cache-invalidator']) expect(cfg.data.yaml).toContain(`job_name: ${job}`);

    const again = script('prometheus-up.sh', port);
    expect(again.status, again.out).toBe(0);
    expect(again.out).toContain(`already running (pid ${pid})`);

    const down = script('prometheus-down.sh', port);
    expect(down.status, down.out).toBe(0);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
    const downAgain = script('prometheus-down.sh', port);
    expect(downAgain.status).toBe(0);
    expect(downAgain.out).toContain('not running');
  }, 180_000);

  it('refuses a port another process holds', async () => {
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const busy = (srv.address() as { port: number }).port;
    try {
      const up = script('prometheus-up.sh', busy);
      expect(up.status).toBe(3);
      expect(up.out).toContain(`port ${busy} is taken`);
    } finally {
      srv.close();
      rmSync(join(run, `prometheus-${busy}`), { recursive: true, force: true });
    }
  }, 60_000);
});
