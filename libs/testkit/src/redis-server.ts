import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

const execFileAsync = promisify(execFile);

/** A free TCP port on 127.0.0.1 (asked from the kernel). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A free port below the kernel's ephemeral range (32768–60999 on Linux), for servers a test runs
 * for long: a port from `freePort()` is one the kernel hands out again, to another test's
 * `freePort()` or as a connection's local port, whenever it is free — e.g. while a test has its
 * PrivateRedis stopped before restarting it on the same port.
 */
export async function freeStaticPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 20000-29999');
}

/** Resolves once a redis-server answers PING on `port` (5 s at most). */
async function waitForRedis(port: number): Promise<void> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    for (let i = 0; i < 100; i++) {
      try {
        await probe.connect();
        await probe.ping();
        return;
      } catch {
        probe.disconnect();
        await sleep(50);
      }
    }
    throw new Error(`redis-server on ${port} did not start`);
  } finally {
    probe.disconnect();
  }
}

/** A throw-away redis-server of a test's own, so the test can stop and restart "Redis". */
export class PrivateRedis {
  readonly port: number;
  readonly #extraArgs: readonly string[];
  #child: ChildProcess | undefined;

  /** `extraArgs` go to redis-server, e.g. `['--enable-debug-command', 'local']` for DEBUG SLEEP. */
  constructor(port: number, extraArgs: readonly string[] = []) {
    this.port = port;
    this.#extraArgs = extraArgs;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.#extraArgs], { stdio: 'ignore' });
    await waitForRedis(this.port);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    child.kill('SIGKILL');
    await exited;
    this.#child = undefined;
  }
}

/**
 * A throw-away Redis Cluster of a test's own: `masters` redis-server processes in cluster mode
 * (no replicas) on free ports, their slots assigned by `redis-cli --cluster create`. `url` is one
 * of them, a seed node as a client is given in production (e.g. a cluster's configuration
 * endpoint). Needs redis-server and redis-cli 7+ on the PATH (Debian's redis-server package).
 */
export class PrivateRedisCluster {
  readonly #masters: number;
  #children: ChildProcess[] = [];
  #dir: string | undefined;
  ports: number[] = [];

  constructor(masters = 3) {
    this.#masters = masters;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.ports[0]}`;
  }

  async start(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'rota-redis-cluster-'));
    for (let i = 0; i < this.#masters; i++) {
      // Outside the ephemeral range, so no other test's freePort() (or a connection's local
      // port) takes these while the cluster runs. The bus port, by default port + 10000, is set.
      const port = await freeStaticPort();
      const busPort = await freeStaticPort();
      this.ports.push(port);
      this.#children.push(spawn('redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-port', String(busPort),
      ], { stdio: 'ignore' }));
    }
    for (const port of this.ports) await waitForRedis(port);
    await execFileAsync('redis-cli', ['--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    // Every node must agree that all slots are served before a client may rely on the layout.
    for (const port of this.ports) {
      const node = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
      try {
        for (let i = 0; ; i++) {
          const info = await node.cluster('INFO');
          if (/cluster_state:ok/.test(info) && /cluster_known_nodes:(\d+)/.exec(info)?.[1] === String(this.#masters)) break;
          if (i > 200) throw new Error(`redis cluster node ${port} not ready: ${info}`);
          await sleep(50);
        }
      } finally {
        node.disconnect();
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.#children.map(async (child) => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((res) => child.once('exit', () => res()));
      child.kill('SIGKILL');
      await exited;
    }));
    this.#children = [];
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}
