// Servers of a test's own, so that it can stop and restart "Kafka" or "Redis" without touching the
// shared ones other tests (and other people) use.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freeStaticPort } from '@rota/testkit';
import { ROOT } from './harness.ts';

const run = promisify(execFile);

function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
  });
}

/**
 * A second single-node Kafka broker (infra/scripts/kafka-up.sh with KAFKA_PORT) on a random free
 * port pair; its state lives in .run/kafka-<port>/ and is removed by destroy().
 */
export class PrivateKafka {
  readonly port: number;
  constructor(port: number) {
    this.port = port;
  }

  static async create(): Promise<PrivateKafka> {
    for (let i = 0; i < 20; i++) {
      const port = 20_000 + 2 * Math.floor(Math.random() * 4_000);
      if (!(await portOpen(port)) && !(await portOpen(port + 1))) return new PrivateKafka(port);
    }
    throw new Error('no free port pair for a private Kafka broker');
  }

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  #env(): NodeJS.ProcessEnv {
    return { ...process.env, KAFKA_PORT: String(this.port), KAFKA_CONTROLLER_PORT: String(this.port + 1), KAFKA_HEAP_OPTS: '-Xmx384m -Xms128m' };
  }

  async start(): Promise<void> {
    await run('bash', [join(ROOT, 'infra/scripts/kafka-up.sh')], { env: this.#env(), cwd: ROOT, timeout: 120_000 });
  }

  async stop(): Promise<void> {
    await run('bash', [join(ROOT, 'infra/scripts/kafka-down.sh')], { env: this.#env(), cwd: ROOT, timeout: 120_000 });
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    await rm(join(ROOT, `.run/kafka-${this.port}`), { recursive: true, force: true });
    await rm(join(ROOT, `.run/kafka-${this.port}.pid`), { force: true });
    await rm(join(ROOT, `.run/logs/kafka-${this.port}.log`), { force: true });
  }
}

/**
 * A redis-server of our own with an fsync-always AOF in a temp dir: SIGKILL is a real outage
 * (connections refused), and a restart on the same port brings the same data back — as a Redis
 * with persistence or a replica promotion would.
 */
export class PrivateRedis {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  static async create(): Promise<PrivateRedis> {
    return new PrivateRedis(await freeStaticPort(), await mkdtemp(join(tmpdir(), 'rota-e2e-redis-')));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'always',
    ], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      if (await portOpen(this.port)) return;
      await sleep(25);
    }
    throw new Error(`redis-server on ${this.port} did not start`);
  }

  async kill(): Promise<void> {
    const c = this.#child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((res) => c.once('exit', () => res()));
    c.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
