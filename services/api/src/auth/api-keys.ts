import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// API keys are 256-bit random secrets, so a fast hash is enough (no dictionary to attack);
// the prefix finds the row, the hash proves the secret.
export const API_KEY_PATTERN = /^rk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function newApiKey(): { key: string; prefix: string; hash: string } {
  const prefix = randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  return { key: `rk_${prefix}_${secret}`, prefix, hash: hashApiKey(secret) };
}

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function apiKeyMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashApiKey(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
