// pnpm bench:api — the API's cached reads on a seeded 20,000-employee dataset, hits and misses,
// against two bare Express 5 baselines (one Redis GET of the same bytes; the same SQL replayed
// on pg). See docs/performance.md ("API"). Last line: one JSON object with every figure.
//
// Settings (environment): BENCH_API_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/rota_bench_api),
// BENCH_EMPLOYEES (20000), BENCH_SEED (42), BENCH_ANCHOR_DATE (2026-11-02), REDIS_URL,
// BENCH_SECONDS (5, each saturation phase), BENCH_ROUNDS (3 saturation rounds per comparison),
// BENCH_WARMUP_SECONDS (3, unrecorded load on each server before its first round), BENCH_CONNECTIONS (32), BENCH_RATE (1000 req/s),
// BENCH_RATE_SECONDS (6, each fixed-rate phase), BENCH_HIT_URLS (200 per endpoint),
// BENCH_MISS_URLS (600 per endpoint), BENCH_ENDPOINTS (comma list of endpoint names, default all),
// BENCH_CPU_PROF (a directory: the API processes and the baselines run with --cpu-prof into it),
// BENCH_PACER (child: each fixed-rate phase's load generator in its own process; inline),
// BENCH_CACHE_ASIDE (1: also measure a bare cache-aside server against the pg baseline; 0: skip),
// BENCH_SERVER_NODE_OPTIONS (Node options of every server; default the API container's, from
// infra/k8s/api/deployment.yaml; empty: Node's defaults).
import { readFileSync } from 'node:fs';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { Redis } from 'ioredis';
import pg from 'pg';
import { NAMESPACES } from '@rota/cache';
import { uniqueName } from '@rota/testkit';
import { startCapturer, type CapturedQuery } from './api/capture.ts';
import { chooseEndpoints, ensureDataset } from './api/dataset.ts';
import { paced, saturate, type RateResult, type SaturationResult } from './api/load.ts';
import { countersPerRequest, cpuPerRequest, cpuSnapshot, procCounters, type CallsPerRequest, type CpuShare } from './api/machine-cpu.ts';
import type { ProbeFigures } from './api/probe.ts';

const env = process.env;
const DATABASE_URL = env['BENCH_API_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/rota_bench_api';
const REDIS_URL = env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
/** A numeric setting from the environment; anything else than a number ≥ min stops the run with its name. */
function numberEnv(name: string, fallback: number, min: number): number {
  const raw = env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}
const EMPLOYEES = numberEnv('BENCH_EMPLOYEES', 20_000, 1);
const SEED = numberEnv('BENCH_SEED', 42, 0);
const ANCHOR = env['BENCH_ANCHOR_DATE'] ?? '2026-11-02';
const SECONDS = numberEnv('BENCH_SECONDS', 5, 1);
const ROUNDS = Math.round(numberEnv('BENCH_ROUNDS', 3, 1));
const CONNECTIONS = numberEnv('BENCH_CONNECTIONS', 32, 1);
const RATE = numberEnv('BENCH_RATE', 1000, 1);
const RATE_SECONDS = numberEnv('BENCH_RATE_SECONDS', 6, 1);
// Unrecorded load on each server before its first measured round (per endpoint): long enough for
// V8 to have optimised the hot code (with 1 s, TurboFan was still compiling the API's functions
// 6 s into the measured phase).
const WARMUP_SECONDS = numberEnv('BENCH_WARMUP_SECONDS', 3, 0);
const HIT_URLS = numberEnv('BENCH_HIT_URLS', 200, 1);
const MISS_URLS = numberEnv('BENCH_MISS_URLS', 600, 1);
const ONLY = env['BENCH_ENDPOINTS']?.split(',').map((s) => s.trim()).filter(Boolean);
const CPU_PROF = env['BENCH_CPU_PROF'];
// Both pg pools (the API's, the pg baseline's) keep their connections for the whole run: with the
// default idle timeouts (30 s, pg's 10 s) a pool closed its idle connections some seconds after a
// saturation phase, and 20 Postgres backends exiting at once stalled the whole machine for
// ~100 ms in the middle of another server's measured phase.
const POOL_IDLE_MS = '600000';
/** `child` (default): each fixed-rate phase's load generator in a process of its own; `inline`: in this one. */
const PACER = env['BENCH_PACER'] ?? 'child';
/**
 * A third reference for misses (default on): the pg baseline behind the bare minimum of
 * cache-aside (bench/api/baseline-server.ts, BASELINE=cache-aside). Not a target; it tells how much
 * of the API's shortfall against the pg baseline is the pattern's own and how much the API's.
 */
const CACHE_ASIDE = (env['BENCH_CACHE_ASIDE'] ?? '1') !== '0';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/**
 * Node's options of the API's container, read from its Deployment so that the API runs here as it
 * is deployed, and given to every server of the run alike (the API and the baselines). Outside a
 * container Node sizes the young generation from the machine's memory (64 MB semi-spaces on a
 * 24 GB machine, 16 MB in the container): the employee list's misses at 1,000 req/s then ran 2–3
 * mark-compacts a second, started by the Buffers waiting for the next scavenge (see
 * docs/performance.md item 30).
 */
function deployedNodeOptions(): string {
  const file = join(ROOT, 'infra/k8s/api/deployment.yaml');
  const m = /name: NODE_OPTIONS, value: "([^"]*)"/.exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`no NODE_OPTIONS in ${file}: set BENCH_SERVER_NODE_OPTIONS`);
  return m[1]!;
}
const SERVER_NODE_OPTIONS = (env['BENCH_SERVER_NODE_OPTIONS'] ?? deployedNodeOptions()).split(/\s+/).filter(Boolean);
// The load generators (autocannon here, the pacer in its child, see pacedInChild) read up to
// 36 MB/s of responses: the same V8 setting as the servers keeps a generator's own mark-compacts
// (its event-loop lag adds to every latency it measures) from firing on "external memory
// pressure" several times a second.
setFlagsFromString('--external-memory-accounted-in-global-limit');

const TARGETS = { hitVsRedis: 0.8, missVsPg: 0.7, hitP99ms: 10, missP99ms: 25 };

const log = (s: string): void => { process.stderr.write(`bench:api ${s}\n`); };
const t0 = performance.now();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

type Child = { name: string; port: number; proc: ChildProcess };
const children: Child[] = [];

/** A fixed-rate phase run by bench/api/pacer.ts in a child process (same V8 setting as here). */
function pacedInChild(o: Parameters<typeof paced>[0]): Promise<RateResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench/api/pacer.ts'), [], { execArgv: ['--external-memory-accounted-in-global-limit'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.once('message', (m: { ok?: RateResult; error?: string }) => {
      settled = true;
      if (m.ok) resolve(m.ok);
      else reject(new Error(`pacer: ${m.error}`));
    });
    child.once('exit', (code) => { if (!settled) reject(new Error(`pacer exited with ${code}`)); });
    child.send(o);
  });
}

/** Where the servers' probes write (set once the run's temporary directory exists). */
let probeDir: string | undefined;

async function startChild(name: string, args: string[], extraEnv: Record<string, string>): Promise<Child> {
  const port = await freePort();
  const probe = probeDir ? ['--import', './bench/api/probe.ts'] : [];
  const proc = spawn(process.execPath, [...SERVER_NODE_OPTIONS, ...probe, ...args], {
    cwd: ROOT, env: { ...env, ...extraEnv, PORT: String(port), ...(probeDir ? { BENCH_PROBE_DIR: probeDir } : {}) }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); if (stderr.length > 20_000) stderr = stderr.slice(-10_000); });
  const child = { name, port, proc };
  children.push(child);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}: ${stderr}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      await r.arrayBuffer();
      if (r.status === 200 || r.status === 404) break; // baselines answer 404 for unknown URLs
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${name} did not start: ${stderr}`);
    await sleep(200);
  }
  proc.stderr!.on('data', (d: Buffer) => { if (/error|fatal/i.test(d.toString())) log(`${name}: ${d.toString().trim().slice(0, 500)}`); });
  return child;
}

/** The figures a server's probe (bench/api/probe.ts) counted since it was last asked; undefined if it does not answer. */
async function probeOf(c: Child): Promise<ProbeFigures | undefined> {
  if (!probeDir || c.proc.pid === undefined) return undefined;
  const file = join(probeDir, `${c.proc.pid}.json`);
  await rm(file, { force: true });
  c.proc.kill('SIGUSR2');
  for (let i = 0; i < 100; i++) {
    await sleep(20);
    try {
      return JSON.parse(await readFile(file, 'utf8')) as ProbeFigures;
    } catch { /* not written yet */ }
  }
  return undefined;
}

async function stopChildren(): Promise<void> {
  await Promise.all(children.map(async (c) => {
    if (c.proc.exitCode !== null) return;
    const exited = new Promise((r) => c.proc.once('exit', r));
    c.proc.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  }));
}

const ttls = (freshMs: number, staleMs: number): string => JSON.stringify(Object.fromEntries(NAMESPACES.map((ns) => [ns, { freshMs, staleMs }])));

type Sat = SaturationResult & { cpuUsPerReq: number; machineCpuUsPerReq: CpuShare; serverCallsPerReq: CallsPerRequest | undefined };
type Phase = { sat: Sat; rate: RateResult & { server: ProbeFigures | undefined } };
type EndpointResult = {
  label: string; urls: { hit: number; miss: number }; bytes: { api: number; pgBaseline: number }; queriesPerMiss: number;
  hit: Phase; redisBaseline: Phase; miss: Phase & { missShare: number }; pgBaseline: Phase;
  /** Every round's saturated throughput ratio; `ratios` and the phases shown are the median round's. */
  rounds: { hitVsRedis: number[]; missVsPg: number[] };
  /** The bare cache-aside server against the pg baseline (median of its own rounds), if measured. */
  cacheAside?: { sat: Sat; vsPg: number; rounds: number[]; apiMissesVsIt: number };
  ratios: { hitVsRedis: number; missVsPg: number; hitP99VsRedis: number; missP99VsPg: number; hitCpuVsRedis: number; missCpuVsPg: number };
  targets: { hitThroughput: boolean; missThroughput: boolean; hitP99: boolean; missP99: boolean };
};

/** Every measured saturation phase's share of machine time the hypervisor took (see machine-cpu.ts). */
const stealShares: number[] = [];
const prefix = uniqueName('benchapi');
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
let tmp: string | undefined;
let apiKeyId: string | undefined;

try {
  const seeded = await ensureDataset({ url: DATABASE_URL, employees: EMPLOYEES, seed: SEED, anchorDate: ANCHOR }, log);
  const { endpoints: all, counts } = await chooseEndpoints(DATABASE_URL, ANCHOR, MISS_URLS);
  const endpoints = ONLY ? all.filter((e) => ONLY.includes(e.name)) : all;
  log(`dataset ${seeded ? 'seeded' : 'reused'}: ${JSON.stringify(counts)}`);

  // 1. The SQL each URL runs on a miss, from an in-process API whose onQuery hook records it.
  const capturer = await startCapturer(DATABASE_URL, REDIS_URL, `${prefix}_cap`);
  const key = await capturer.createAdminKey(`bench-api ${prefix}`);
  apiKeyId = key.id;
  const headers = { authorization: `Bearer ${key.key}` };
  const queries: Record<string, CapturedQuery[]> = {};
  for (const e of endpoints) {
    const kept: string[] = [];
    for (const path of e.paths) {
      const r = await capturer.capture(path, headers);
      if (r.status !== 200 || r.queries.length === 0) continue; // e.g. a department without schedules
      queries[path] = r.queries;
      kept.push(path);
    }
    if (kept.length < e.paths.length) log(`${e.name}: ${e.paths.length - kept.length} URL(s) dropped (not 200)`);
    e.paths = kept;
  }
  await capturer.close();
  tmp = await mkdtemp(join(tmpdir(), 'rota-bench-api-'));
  const queriesFile = join(tmp, 'queries.json');
  probeDir = join(tmp, 'probe');
  await mkdir(probeDir);
  await writeFile(queriesFile, JSON.stringify(queries));
  log(`captured the SQL of ${Object.keys(queries).length} URLs (${Math.round((performance.now() - t0) / 1000)} s)`);

  // 2. Four servers, each its own process: the API with entries that stay fresh for the whole run,
  // the API with entries that expire at once, and the two baselines.
  const prof = (tag: string): string[] => (CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`, `--cpu-prof-name=api-${tag}-${Date.now()}.cpuprofile`] : []);
  const apiEnv = (tag: string, namespaceTtls: string): Record<string, string> => ({
    DATABASE_URL, REDIS_URL, LOG_LEVEL: 'warn', RELAY_ENABLED: 'false', CACHE_NAMESPACE_TTLS: namespaceTtls,
    REDIS_KEY_PREFIX: `${prefix}_${tag}`, QUEUE_PREFIX: `${prefix}_${tag}`, DATABASE_POOL_IDLE_TIMEOUT_MS: POOL_IDLE_MS,
  });
  const baselinePrefix = `${prefix}:baseline:`;
  const [apiHit, apiMiss, redisBaseline, pgBaseline] = await Promise.all([
    startChild('api (hits)', [...prof('hits'), 'services/api/src/main.ts'], apiEnv('hit', ttls(3_600_000, 0))),
    startChild('api (misses)', [...prof('misses'), 'services/api/src/main.ts'], apiEnv('miss', ttls(1, 0))),
    startChild('redis baseline', [...prof('redis-baseline'), 'bench/api/baseline-server.ts'], { BASELINE: 'redis', REDIS_URL, BASELINE_KEY_PREFIX: baselinePrefix }),
    startChild('pg baseline', [...prof('pg-baseline'), 'bench/api/baseline-server.ts'], { BASELINE: 'pg', DATABASE_URL, BASELINE_QUERIES: queriesFile, DATABASE_POOL_IDLE_TIMEOUT_MS: POOL_IDLE_MS }),
  ]);
  const cacheAside = CACHE_ASIDE
    ? await startChild('cache-aside baseline', ['bench/api/baseline-server.ts'], {
      BASELINE: 'cache-aside', DATABASE_URL, REDIS_URL, BASELINE_QUERIES: queriesFile, BASELINE_KEY_PREFIX: `${prefix}:cache-aside:`, DATABASE_POOL_IDLE_TIMEOUT_MS: POOL_IDLE_MS,
    })
    : undefined;

  const results: Record<string, EndpointResult> = {};
  for (const e of endpoints) {
    const hitPaths = e.paths.slice(0, HIT_URLS);
    const missPaths = e.paths;
    // Warm every hit URL on the API and store the exact bytes it returned for the Redis baseline.
    let apiBytes = 0;
    for (const path of hitPaths) {
      const r = await fetch(`http://127.0.0.1:${apiHit.port}${path}`, { headers });
      const body = Buffer.from(await r.arrayBuffer());
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body.toString().slice(0, 200)}`);
      apiBytes += body.length;
      await redis.set(baselinePrefix + path, body);
    }
    let pgBytes = 0;
    for (const path of hitPaths.slice(0, 20)) {
      const r = await fetch(`http://127.0.0.1:${pgBaseline.port}${path}`);
      pgBytes += (await r.arrayBuffer()).byteLength;
    }
    const warm = async (c: Child, paths: string[]): Promise<void> => {
      if (WARMUP_SECONDS > 0) await saturate({ port: c.port, paths, headers, connections: CONNECTIONS, seconds: WARMUP_SECONDS }); // not recorded
    };
    // CPU per request (from /proc) is far steadier than req/s on a shared machine: it does not
    // depend on how much of a core a process got.
    const sat = async (c: Child, paths: string[]): Promise<Sat> => {
      const calls0 = await procCounters(c.proc.pid);
      const machine0 = await cpuSnapshot();
      const r = await saturate({ port: c.port, paths, headers, connections: CONNECTIONS, seconds: SECONDS });
      const machine1 = await cpuSnapshot();
      const calls1 = await procCounters(c.proc.pid);
      const machine = cpuPerRequest(machine0, machine1, c.proc.pid, r.requests);
      stealShares.push(machine.stealShare);
      return { ...r, cpuUsPerReq: machine.server, machineCpuUsPerReq: machine, serverCallsPerReq: countersPerRequest(calls0, calls1, r.requests) };
    };
    /**
     * ROUNDS back-to-back pairs (API, baseline), the API first in even rounds and second in odd
     * ones; the pair whose ratio is the median stands for the comparison (its figures are shown),
     * every round's ratio is kept.
     */
    const compare = async (api: Child, baseline: Child, paths: string[]): Promise<{ api: Sat; baseline: Sat; ratios: number[] }> => {
      const pairs: { api: Sat; baseline: Sat; ratio: number }[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        let a: Sat;
        let b: Sat;
        if (i % 2 === 0) { a = await sat(api, paths); b = await sat(baseline, paths); } else { b = await sat(baseline, paths); a = await sat(api, paths); }
        pairs.push({ api: a, baseline: b, ratio: a.rps / Math.max(1e-9, b.rps) });
      }
      const median = [...pairs].sort((x, y) => x.ratio - y.ratio)[Math.floor(pairs.length / 2)]!;
      return { api: median.api, baseline: median.baseline, ratios: pairs.map((p) => Number(p.ratio.toFixed(3))) };
    };
    const rate = async (c: Child, paths: string[]): Promise<RateResult & { server: ProbeFigures | undefined }> => {
      await probeOf(c); // starts the server's count
      const o = { port: c.port, paths, headers, rate: RATE, seconds: RATE_SECONDS };
      const r = PACER === 'inline' ? await paced(o) : await pacedInChild(o);
      return { ...r, server: await probeOf(c) };
    };
    log(`${e.name}: ${hitPaths.length} hit / ${missPaths.length} miss URLs; saturation…`);
    for (const [c, paths] of [[apiHit, hitPaths], [redisBaseline, hitPaths], [apiMiss, missPaths], [pgBaseline, missPaths]] as const) await warm(c, paths);
    // Each API phase right beside its baseline's, in rounds, so that background load on a shared
    // machine falls on both alike and one unlucky phase does not decide the ratio.
    const hits = await compare(apiHit, redisBaseline, hitPaths);
    const misses = await compare(apiMiss, pgBaseline, missPaths);
    const [hitSat, redisSat, missSat, pgSat] = [hits.api, hits.baseline, misses.api, misses.baseline];
    let floor: Awaited<ReturnType<typeof compare>> | undefined;
    if (cacheAside) {
      await warm(cacheAside, missPaths);
      floor = await compare(cacheAside, pgBaseline, missPaths);
    }
    log(`${e.name}: ${RATE} req/s offered…`);
    const hitRate = await rate(apiHit, hitPaths);
    const redisRate = await rate(redisBaseline, hitPaths);
    const missRate = await rate(apiMiss, missPaths);
    const pgRate = await rate(pgBaseline, missPaths);

    const missCount = (missSat.xcache['MISS'] ?? 0);
    const missTotal = Object.values(missSat.xcache).reduce((a, b) => a + b, 0);
    const ratio = (a: number, b: number): number => Number((a / Math.max(b, 1e-9)).toFixed(3));
    const floorResult = (f: Awaited<ReturnType<typeof compare>>): NonNullable<EndpointResult['cacheAside']> => {
      const vsPg = ratio(f.api.rps, f.baseline.rps);
      // From different rounds than missVsPg, so the quotient of the two medians is approximate.
      return { sat: f.api, vsPg, rounds: f.ratios, apiMissesVsIt: ratio(ratio(missSat.rps, pgSat.rps), vsPg) };
    };
    const r: EndpointResult = {
      label: e.label,
      urls: { hit: hitPaths.length, miss: missPaths.length },
      bytes: { api: Math.round(apiBytes / hitPaths.length), pgBaseline: Math.round(pgBytes / Math.min(20, hitPaths.length)) },
      queriesPerMiss: Number((missPaths.reduce((n, p) => n + queries[p]!.length, 0) / missPaths.length).toFixed(2)),
      hit: { sat: hitSat, rate: hitRate },
      redisBaseline: { sat: redisSat, rate: redisRate },
      miss: { sat: missSat, rate: missRate, missShare: Number((missCount / Math.max(1, missTotal)).toFixed(4)) },
      pgBaseline: { sat: pgSat, rate: pgRate },
      rounds: { hitVsRedis: hits.ratios, missVsPg: misses.ratios },
      ...(floor ? { cacheAside: floorResult(floor) } : {}),
      ratios: {
        hitVsRedis: ratio(hitSat.rps, redisSat.rps),
        missVsPg: ratio(missSat.rps, pgSat.rps),
        hitP99VsRedis: ratio(hitRate.p99ms, redisRate.p99ms),
        missP99VsPg: ratio(missRate.p99ms, pgRate.p99ms),
        // Baseline CPU per request / API CPU per request: the throughput ratio one core would give.
        hitCpuVsRedis: ratio(redisSat.cpuUsPerReq, hitSat.cpuUsPerReq),
        missCpuVsPg: ratio(pgSat.cpuUsPerReq, missSat.cpuUsPerReq),
      },
      targets: {
        hitThroughput: hitSat.rps >= TARGETS.hitVsRedis * redisSat.rps,
        missThroughput: missSat.rps >= TARGETS.missVsPg * pgSat.rps,
        hitP99: !hitRate.overloaded && hitRate.p99ms <= TARGETS.hitP99ms,
        missP99: !missRate.overloaded && missRate.p99ms <= TARGETS.missP99ms,
      },
    };
    results[e.name] = r;
    log(`${e.name}: hits ${hitSat.rps}/s vs redis ${redisSat.rps}/s (${r.ratios.hitVsRedis}), misses ${missSat.rps}/s vs pg ${pgSat.rps}/s (${r.ratios.missVsPg}) — ${Math.round((performance.now() - t0) / 1000)} s`);
  }

  // Human table, then the JSON line.
  const yes = (b: boolean): string => (b ? 'yes' : 'NO');
  const fmt = (p: Phase): string => `${String(p.sat.rps).padStart(6)}/s p50 ${String(p.sat.p50ms).padStart(3)} p99 ${String(p.sat.p99ms).padStart(4)} ${String(p.sat.cpuUsPerReq).padStart(5)} µs CPU/req | @${RATE}: `
    + (p.rate.overloaded ? `overloaded (${p.rate.achieved}/s sent)`.padEnd(26) : `p50 ${p.rate.p50ms.toFixed(2).padStart(6)} p99 ${p.rate.p99ms.toFixed(2).padStart(7)}`);
  const lines = [
    `bench:api — ${counts['employees']} employees, ${counts['departments']} departments; saturation: autocannon ${CONNECTIONS} connections × ${SECONDS} s, ${ROUNDS} rounds per pair (median round shown), ${WARMUP_SECONDS} s warm-up; fixed rate: ${RATE} req/s open loop × ${RATE_SECONDS} s (ms); servers' Node options: ${SERVER_NODE_OPTIONS.join(' ') || '(none)'}`,
  ];
  for (const [name, r] of Object.entries(results)) {
    lines.push('', `${name} — ${r.label}; ${r.urls.hit} hit / ${r.urls.miss} miss URLs, ${r.bytes.api} B/response, ${r.queriesPerMiss} queries/miss`);
    lines.push(`  API hits        ${fmt(r.hit)}   X-Cache ${JSON.stringify(r.hit.sat.xcache)}`);
    lines.push(`  Redis baseline  ${fmt(r.redisBaseline)}`);
    lines.push(`  API misses      ${fmt(r.miss)}   X-Cache ${JSON.stringify(r.miss.sat.xcache)} (MISS share ${(r.miss.missShare * 100).toFixed(1)} %)`);
    lines.push(`  pg baseline     ${fmt(r.pgBaseline)}`);
    const ca = r.cacheAside;
    if (ca) {
      lines.push(`  bare cache-aside ${String(ca.sat.rps).padStart(5)}/s p50 ${String(ca.sat.p50ms).padStart(3)} p99 ${String(ca.sat.p99ms).padStart(4)} ${String(ca.sat.cpuUsPerReq).padStart(5)} µs CPU/req | ÷ pg ${ca.vsPg} [rounds ${ca.rounds.join(' ')}]; API misses ÷ it ≈ ${ca.apiMissesVsIt} (not a target)`);
    }
    const inside = (label: string, p: Phase): string => {
      const f = p.rate.server;
      return `${label} ${f ? `loop ${f.loopP99Ms}/${f.loopMaxMs}, GC ${f.gc.count} (${f.gc.major} major) ${f.gc.totalMs} ms, longest ${f.gc.maxMs}` : 'n/a'}; sender lag p99 ${p.rate.senderLagP99ms}`;
    };
    const machine = (label: string, p: Phase): string => {
      const m = p.sat.machineCpuUsPerReq;
      const k = p.sat.serverCallsPerReq;
      return `${label} ${m.server}+${m.postgres}+${m.redis}+${m.generator}+${m.other} (idle ${m.idle}, stolen ${m.steal} = ${(m.stealShare * 100).toFixed(0)} %; other: ${Object.entries(m.topOther).map(([n, v]) => `${n} ${v}`).join(', ')})`
        + (k ? `, server reads/writes/switches ${k.syscr}/${k.syscw}/${k.switches}, main thread running ${k.mainRun} / waiting for a CPU ${k.mainWait}` : '');
    };
    lines.push(`  saturated, machine CPU µs/req server+postgres+redis+generator+other (idle): ${[machine('API hits', r.hit), machine('Redis baseline', r.redisBaseline), machine('API misses', r.miss), machine('pg baseline', r.pgBaseline)].join(' | ')}`);
    lines.push(`  @${RATE} inside the servers (event-loop delay p99/max ms; GC pauses): ${[inside('API hits', r.hit), inside('Redis baseline', r.redisBaseline), inside('API misses', r.miss), inside('pg baseline', r.pgBaseline)].join(' | ')}`);
    lines.push(`  hits/redis ${r.ratios.hitVsRedis} [rounds ${r.rounds.hitVsRedis.join(' ')}] (≥ ${TARGETS.hitVsRedis}: ${yes(r.targets.hitThroughput)}), misses/pg ${r.ratios.missVsPg} [rounds ${r.rounds.missVsPg.join(' ')}] (≥ ${TARGETS.missVsPg}: ${yes(r.targets.missThroughput)}), `
      + `CPU/req baseline÷API: hits ${r.ratios.hitCpuVsRedis}, misses ${r.ratios.missCpuVsPg} (Node process only), `
      + `p99 @${RATE}: hits ${r.hit.rate.overloaded ? '∞' : r.hit.rate.p99ms} (≤ ${TARGETS.hitP99ms}: ${yes(r.targets.hitP99)}), misses ${r.miss.rate.overloaded ? '∞' : r.miss.rate.p99ms} (≤ ${TARGETS.missP99ms}: ${yes(r.targets.missP99)})`);
  }
  const sorted = [...stealShares].sort((a, b) => a - b);
  const steal = { median: sorted[Math.floor(sorted.length / 2)] ?? 0, max: sorted.at(-1) ?? 0 };
  // Stolen time makes every figure of the run pessimistic and noisy (a phase's req/s and CPU per
  // request both move with it): say so where the figures are read.
  lines.push('', `hypervisor steal in the saturation phases: median ${(steal.median * 100).toFixed(1)} %, max ${(steal.max * 100).toFixed(1)} % of the machine's time${steal.max > 0.05 ? ' — the host was contended; compare ratios of this run only, not its absolute figures' : ''}`);
  console.log(lines.join('\n'));
  const allMet = Object.values(results).every((r) => Object.values(r.targets).every(Boolean));
  console.log(JSON.stringify({
    bench: 'api',
    dataset: { seed: SEED, anchorDate: ANCHOR, counts },
    settings: { connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, warmupSeconds: WARMUP_SECONDS, rate: RATE, rateSeconds: RATE_SECONDS, hitUrls: HIT_URLS, missUrls: MISS_URLS, serverNodeOptions: SERVER_NODE_OPTIONS.join(' '), generator: `autocannon 8 (saturation), open-loop node:http pacer (fixed rate; ${PACER === 'inline' ? 'in this process' : 'a process of its own per phase'})` },
    targets: TARGETS,
    machine: { stealShare: steal },
    endpoints: results,
    allTargetsMet: allMet,
    durationSeconds: Math.round((performance.now() - t0) / 1000),
  }));
} catch (e) {
  console.error(`bench failed: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
} finally {
  await stopChildren();
  if (tmp) await rm(tmp, { recursive: true, force: true });
  // Bench clean-up only (never on a request path): this run's keys, and its API key revoked.
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  if (apiKeyId) {
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    await c.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [apiKeyId]).catch(() => {});
    await c.end();
  }
}
