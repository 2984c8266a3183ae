import { describe, expect, test } from 'vitest';
import { hashPassword, verifyPassword } from './password.ts';

describe('password hashing', () => {
  test('a hash verifies its password and nothing else', async () => {
    const h = await hashPassword('s3cret pässword');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}$/);
    expect(await verifyPassword('s3cret pässword', h)).toBe(true);
    expect(await verifyPassword('s3cret password', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
  });

  test('salts differ, so equal passwords give different hashes', async () => {
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
  });

  test('malformed or foreign hashes are rejected without throwing', async () => {
    for (const bad of ['', 'plain', 'bcrypt$2b$10$abc', 'scrypt$x$8$1$AAAA$BBBB', 'scrypt$16384$8$1$$', 'scrypt$4194304$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=']) {
      expect(await verifyPassword('x', bad), bad).toBe(false);
    }
  });
});
