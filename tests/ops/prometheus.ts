import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitFor } from '../e2e/harness.ts';
import { ensurePrometheus } from './support.ts';

export type Sample = { metric: Record<string, string>; value: [number, string] };

export type TestPrometheus = {
  url: string;
  /** Instant query through /api/v1/query; throws on a parse or evaluation error. */
  query(expr: string): Promise<Sample[]>;
  /** Waits until every target of every job has been scraped successfully at least once. */
  waitForTargets(timeoutMs?: number): Promise<void>;
  /** The last lines Prometheus logged (diagnostics). */
  logs(): string;
  stop(): Promise<void>;
};

/**
 * A real Prometheus (the system binary) on a free port with its own data directory, scraping the
 * given targets every `scrapeInterval`. Recording/alert rules can be loaded too (`ruleFiles`).
 */
export async function startPrometheus(o: {
  targets: Record<string, string[]>;
  scrapeInterval?: string;
  ruleFiles?: string[];
}): Promise<TestPrometheus> {
  ensurePrometheus();
  const dir = mkdtempSync(join(tmpdir(), 'rota-prom-'));
  const port = await freePort();
  const interval = o.scrapeInterval ?? '1s';
  // JSON is YAML: the config is written as JSON.
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: o.ruleFiles ?? [],
    scrape_configs: Object.entries(o.targets).map(([job, targets]) => ({ job_name: job, static_configs: [{ targets }] })),
  };
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
  const url = `http://127.0.0.1:${port}`;
  const lines: string[] = [];
  const child: ChildProcess = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h',
    // Default 5m: a series that stopped would be visible for 5 minutes; the tests want fresh data.
    '--query.lookback-delta=15s',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const keep = (b: Buffer): void => { lines.push(...b.toString('utf8').split('\n').filter(Boolean)); if (lines.length > 400) lines.splice(0, 200); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const p: TestPrometheus = {
    url,
    async query(expr) {
      const r = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
      const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } };
      if (body.status !== 'success' || !body.data) throw new Error(`query failed: ${body.error ?? r.status}: ${expr}`);
      if (body.data.resultType !== 'vector') throw new Error(`expected an instant vector, got ${body.data.resultType}: ${expr}`);
      return body.data.result;
    },
    async waitForTargets(timeoutMs = 30_000) {
      await waitFor('all scrape targets up', async () => {
        const r = await fetch(`${url}/api/v1/targets`);
        const t = (await r.json()) as { data: { activeTargets: { health: string; lastError: string; scrapeUrl: string }[] } };
        const expected = Object.values(o.targets).flat().length;
        return t.data.activeTargets.length === expected && t.data.activeTargets.every((x) => x.health === 'up');
      }, timeoutMs, 200);
    },
    logs: () => lines.slice(-40).join('\n'),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor('prometheus ready', async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${lines.join('\n')}`);
      return (await fetch(`${url}/-/ready`)).ok;
    }, 30_000, 100);
  } catch (e) {
    await p.stop();
    throw e;
  }
  return p;
}

/** The scalar value of a one-sample result (or undefined when the result is empty). */
export function single(samples: Sample[]): number | undefined {
  if (samples.length > 1) throw new Error(`expected at most one sample, got ${JSON.stringify(samples)}`);
  return samples[0] ? Number(samples[0].value[1]) : undefined;
}
