/**
 * scripts/services.sh stop: the scheduler worker gets its whole shutdown (SHUTDOWN_GRACE_SECONDS
 * for the active job, then 30 s to hand it back: services/scheduler-worker/src/main.ts) before it
 * is SIGKILLed, not the 20 s the other services get.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { repoRoot, run } from './support.ts';

const dir = mkdtempSync(join(tmpdir(), 'rota-services-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('stop waits past 20 s for a worker that is still handing back its job', { timeout: 60_000 }, async () => {
  // Stands in for a worker whose shutdown takes 22 s after SIGTERM (own process group, like setsid).
  const fake = spawn('bash', ['-c', 'trap "sleep 22; exit 0" TERM; while :; do sleep 0.1; done'], { detached: true, stdio: 'ignore' });
  writeFileSync(join(dir, 'scheduler-worker.pid'), `${fake.pid}\n`);
  const exited = new Promise<number | null>((res) => fake.on('exit', (code) => res(code)));
  const { stdout } = await run('bash', [resolve(repoRoot, 'scripts/services.sh'), 'stop'], {
    env: { ...process.env, ROTA_RUN_DIR: dir, SHUTDOWN_GRACE_SECONDS: '0' },
  });
  expect(stdout).toContain('services: stopped scheduler-worker');
  expect(await exited).toBe(0);
});
