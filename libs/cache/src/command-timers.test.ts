import net from 'node:net';
import { Command, Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { fastCommandTimers } from './command-timers.ts';
import { TEST_REDIS_URL, test } from './testing.ts';

/** The timer field ioredis keeps private. */
const timerOf = (c: Command): unknown => (c as unknown as { _commandTimeoutTimer?: unknown })._commandTimeoutTimer;

describe('fastCommandTimers', () => {
  test('replaces the ioredis implementation it was written for; replies clear their timer, a silent server still times out', async ({ prefix }) => {
    // Fails when an ioredis upgrade changed _clearTimers: re-check the replacement against it.
    expect(fastCommandTimers()).toBe(true);
    expect(fastCommandTimers()).toBe(true); // idempotent

    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 200 });
    try {
      await redis.set(`${prefix}:k`, 'v');
      const cmds = Array.from({ length: 50 }, () => new Command('get', [`${prefix}:k`], { replyEncoding: 'utf8' }));
      const replies = await Promise.all(cmds.map((c) => { void redis.sendCommand(c); return c.promise; }));
      expect(replies).toEqual(Array.from({ length: 50 }, () => 'v'));
      // Each had a timer; the reply cleared it (set to undefined, not deleted: same truthiness).
      for (const c of cmds) {
        expect(timerOf(c)).toBeUndefined();
        expect(Object.hasOwn(c, '_commandTimeoutTimer')).toBe(true);
      }
    } finally {
      redis.disconnect();
    }

    // A server that accepts and never answers: the command timeout still fires.
    const silent = net.createServer((s) => { s.on('data', () => {}); s.on('error', () => {}); });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const stuck = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, commandTimeout: 100, enableReadyCheck: false, lazyConnect: true, retryStrategy: () => null });
    try {
      await stuck.connect();
      const started = Date.now();
      await expect(stuck.get('x')).rejects.toThrow('Command timed out');
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    } finally {
      stuck.disconnect();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
