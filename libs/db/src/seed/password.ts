import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

// scrypt with N=2^14, r=8, p=1 costs 16 MiB and ~50 ms per hash on this class of machine: the
// memory-hard KDF SPEC §9 asks for, cheap enough for a login endpoint that is rate limited anyway.
const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
// Node refuses N*r*128 above maxmem (default 32 MiB); allow headroom for stored hashes with larger N.
const MAX_MEM = 256 * 1024 * 1024;

function derive(password: string, salt: Buffer, n: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keyLength, { N: n, r, p, maxmem: MAX_MEM }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

/** Hashes a password as `scrypt$N$r$p$saltB64$hashB64` (N=16384, r=8, p=1, 16-byte salt, 32-byte key). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P, KEY_LENGTH);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Checks a password against a hash from hashPassword, in constant time. Returns false (never
 * throws) for a malformed or foreign hash, so a corrupt row cannot become a 500.
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > 1 << 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.length === 0 || expected.length < 16) return false;
  const key = await derive(password, salt, n, r, p, expected.length).catch(() => undefined);
  return key !== undefined && timingSafeEqual(key, expected);
}
