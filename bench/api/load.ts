// Load generators of bench:api: autocannon at saturation (closed loop) and an open-loop paced
// sender for a fixed offered rate. Both spread requests over a list of paths with one shared
// counter, so concurrent requests ask for different keys, and both count X-Cache values.
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import autocannon from 'autocannon';

export type XCache = Record<string, number>;

export type SaturationResult = {
  rps: number; p50ms: number; p99ms: number; requests: number; non2xx: number; errors: number; timeouts: number; xcache: XCache;
};

export type RateResult = {
  offered: number; achieved: number; p50ms: number; p99ms: number; maxms: number; requests: number; non2xx: number; errors: number;
  /** p99 of how late the generator itself sent requests (its own event-loop lag); should be ≪ p99ms. */
  senderLagP99ms: number;
  /**
   * The server could not keep up: more than one second of requests was outstanding, so sending
   * stopped early (latencies of the completed requests only; the real p99 is unbounded).
   */
  overloaded: boolean;
  /** Most requests outstanding at once, and (when overloaded) when sending stopped, in s after the start. */
  maxOutstanding: number;
  stoppedAtS: number | null;
  xcache: XCache;
};

const round = (n: number, d = 2): number => Number(n.toFixed(d));

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * Tallies X-Cache values; a MISS whose X-DB-Queries is 0 joined another request's load (single
 * flight) and is counted as `MISS-joined`.
 */
function countXCache(into: XCache, value: string | undefined, dbQueries: string | undefined): void {
  const v = value === 'MISS' && dbQueries === '0' ? 'MISS-joined' : (value ?? 'none');
  into[v] = (into[v] ?? 0) + 1;
}

/** Closed loop: `connections` keep-alive connections, each sending its next request on a response. */
export async function saturate(o: {
  port: number; paths: readonly string[]; headers: Record<string, string>; connections: number; seconds: number;
}): Promise<SaturationResult> {
  let i = 0;
  const xcache: XCache = {};
  const result = await autocannon({
    url: `http://127.0.0.1:${o.port}`,
    connections: o.connections,
    duration: o.seconds,
    headers: o.headers,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: o.paths[i++ % o.paths.length]! }) }],
    // Cheaper than requests[].onResponse (which builds a header object per response).
    // The typings say 'headers' carries IncomingHttpHeaders; v8 emits the parser's info object,
    // whose `headers` is the raw [name, value, …] list.
    setupClient: (client) => {
      (client as unknown as EventEmitter).on('headers', (h: { headers: string[] }) => {
        const raw = h.headers;
        let v: string | undefined;
        let q: string | undefined;
        for (let k = 0; k < raw.length; k += 2) {
          const name = raw[k]!;
          if (name.length === 7 && name.toLowerCase() === 'x-cache') v = raw[k + 1];
          else if (name.length === 12 && name.toLowerCase() === 'x-db-queries') q = raw[k + 1];
        }
        countXCache(xcache, v, q);
      });
    },
  });
  return {
    rps: Math.round(result.requests.average),
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    xcache,
  };
}

/**
 * Open loop at a fixed offered rate: request n is due at start + n/rate whatever happened to the
 * earlier ones (no coordinated omission); latency is measured from the moment it was sent. A
 * first second of warm-up is sent but not recorded. (autocannon's `overallRate` is not used: it
 * gives each connection a per-second quota that it sends back-to-back at the start of the
 * second, so the server sees bursts at full concurrency instead of an even 1,000 req/s.)
 */
export async function paced(o: {
  port: number; paths: readonly string[]; headers: Record<string, string>; rate: number; seconds: number; warmupSeconds?: number;
}): Promise<RateResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const warmup = o.warmupSeconds ?? 1;
  const total = Math.round(o.rate * (o.seconds + warmup));
  const recordFrom = Math.round(o.rate * warmup);
  const lat = new Float64Array(total);
  const lag = new Float64Array(total);
  let sent = 0;
  let done = 0;
  let recorded = 0;
  let non2xx = 0;
  let errors = 0;
  let overloaded = false;
  let maxOutstanding = 0;
  const xcache: XCache = {};
  const start = performance.now() + 5;
  let finish!: () => void;
  const allDone = new Promise<void>((resolve) => { finish = resolve; });

  const send = (n: number, due: number): void => {
    const t0 = performance.now();
    const measured = n >= recordFrom;
    if (measured) lag[n - recordFrom] = t0 - due;
    const req = http.get({ agent, host: '127.0.0.1', port: o.port, path: o.paths[n % o.paths.length], headers: o.headers }, (res) => {
      if (res.statusCode !== 200) non2xx++;
      if (measured) countXCache(xcache, res.headers['x-cache'] as string | undefined, res.headers['x-db-queries'] as string | undefined);
      res.on('data', () => {});
      res.on('end', () => {
        if (measured) lat[recorded++] = performance.now() - t0;
        if (++done === sent && (sent === total || overloaded)) finish();
      });
    });
    req.on('error', () => {
      errors++;
      if (++done === sent && (sent === total || overloaded)) finish();
    });
  };

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * o.rate) / 1000) + 1);
      while (sent < due) {
        send(sent, start + (sent * 1000) / o.rate);
        sent++;
      }
      if (sent - done > maxOutstanding) maxOutstanding = sent - done;
      if (sent - done > o.rate) overloaded = true;
      if (sent < total && !overloaded) setTimeout(tick, 1);
      else resolve();
    };
    setTimeout(tick, 5);
  });
  const sendEnd = performance.now();
  if (done < sent) await Promise.race([allDone, new Promise((r) => setTimeout(r, overloaded ? 5_000 : 15_000))]);
  agent.destroy();

  const l = lat.slice(0, recorded).sort();
  const g = lag.slice(0, Math.max(0, sent - recordFrom)).sort();
  return {
    offered: o.rate,
    achieved: Math.round(Math.max(0, sent - recordFrom) / Math.max(0.001, (sendEnd - start) / 1000 - warmup)),
    p50ms: round(quantile(l, 0.5)),
    p99ms: round(quantile(l, 0.99)),
    maxms: round(l[l.length - 1] ?? 0),
    requests: recorded,
    non2xx,
    errors,
    senderLagP99ms: round(quantile(g, 0.99)),
    overloaded,
    maxOutstanding,
    stoppedAtS: overloaded ? round((sendEnd - start) / 1000) : null,
    xcache,
  };
}
