import { hash } from 'node:crypto';

/**
 * Stored entry (one Redis string, WIRE FORMAT):
 *
 *   r2 <v1>,<v2>,… <freshUntil> <loadMs> <etag>\n<exact response bytes>
 *
 * The versions are those of the entry's scopes (namespace scope first, then sorted) at the moment
 * the loader started, and the fill stores the entry only if the counters still hold them (see
 * scripts.ts: FILL, or a staged SET placed by PLACE). A hit
 * reads the header (≈ 70 bytes, latin1) and returns a zero-copy slice of the reply as the body:
 * no JSON parse, no rehash. `freshUntil` (epoch ms, the filling pod's clock) splits fresh from
 * stale, so a read is one MGET of the entry and its counters. Clock skew between pods (NTP: a few
 * ms) only moves when a background refresh starts: what may be served at all is decided by the
 * counters (invalidation) and the key's PX (fresh + stale window), both on the Redis side.
 * (r1 entries, which kept the split in the key's PTTL, read as misses and are replaced.)
 */
const MAGIC = 'r2 ';
const MAGIC_BYTES = [...Buffer.from(MAGIC, 'latin1')] as [number, number, number];
const MAX_HEADER = 512;

export type EntryMeta = { freshUntil: number; loadMs: number; etag: string };
export type DecodedEntry = EntryMeta & { versions: string; body: Buffer };

/** The header after `r2 <versions> ` (which the fill adds, scripts.ts): `<freshUntil> <loadMs> <etag>\n`. */
export function encodeEntryMeta(meta: EntryMeta): string {
  return `${Math.round(meta.freshUntil)} ${Math.ceil(meta.loadMs)} ${meta.etag}\n`;
}

/** The entry without its `r2 <versions> ` prefix. */
export function encodeEntryTail(meta: EntryMeta, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(encodeEntryMeta(meta), 'latin1'), body]);
}

/** undefined for anything that is not a well-formed r2 entry (treated as a miss). */
export function decodeEntry(raw: Buffer): DecodedEntry | undefined {
  // Bytes compared in place: every hit decodes an entry, and a string or a view per check showed
  // in its profile.
  if (raw.length < MAGIC.length || raw[0] !== MAGIC_BYTES[0] || raw[1] !== MAGIC_BYTES[1] || raw[2] !== MAGIC_BYTES[2]) return undefined;
  const nl = raw.indexOf(10, MAGIC.length);
  if (nl < 0 || nl >= MAX_HEADER) return undefined;
  const parts = raw.toString('latin1', MAGIC.length, nl).split(' ');
  if (parts.length !== 4) return undefined;
  const [versions, freshUntilMs, loadMs, etag] = parts as [string, string, string, string];
  const freshUntil = Number(freshUntilMs);
  const load = Number(loadMs);
  if (!Number.isFinite(freshUntil) || !Number.isFinite(load) || etag === '') return undefined;
  return { versions, freshUntil, loadMs: load, etag, body: raw.subarray(nl + 1) };
}

/**
 * Strong ETag (quoted, ready for the header) of the exact bytes: 128 bits of SHA-256. The same
 * bytes give the same ETag on every pod, from the cache or from a BYPASS load.
 */
export function etagOf(body: Buffer): string {
  return `"${hash('sha256', body, 'base64url').slice(0, 22)}"`;
}

/**
 * XFetch (Vattani et al., "Optimal probabilistic cache stampede prevention"): refresh early with
 * a probability that rises as expiry nears, scaled by how long a load takes. With beta = 1 a key
 * whose load takes 40 ms is refreshed on average ~40 ms before it expires — by one reader, not by
 * all of them at expiry. beta = 0 disables it.
 */
export function shouldRefreshEarly(
  freshRemainingMs: number,
  loadMs: number,
  beta: number,
  random: number = Math.random(),
): boolean {
  if (beta <= 0 || loadMs <= 0) return false;
  return -loadMs * beta * Math.log(random) >= freshRemainingMs;
}
