import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { coalesceWrites, inBackground } from './coalesce.ts';
import { TEST_REDIS_URL, test } from './testing.ts';

/** The client's socket, and the number of commands in each write it makes from now on. */
function spyWrites(redis: Redis): { socket: Socket; writes: number[] } {
  const socket = (redis as unknown as { stream: Socket }).stream;
  const writes: number[] = [];
  const handle = socket as unknown as { _writev: (chunks: unknown[], cb: () => void) => void; _write: (c: unknown, e: string, cb: () => void) => void };
  const writev = handle._writev.bind(socket);
  const write = handle._write.bind(socket);
  handle._writev = (chunks, cb) => { writes.push(chunks.length); writev(chunks, cb); };
  handle._write = (c, e, cb) => { writes.push(1); write(c, e, cb); };
  return { socket, writes };
}

describe('coalesceWrites', () => {
  test('commands of one loop turn go out in one write, and every reply reaches its caller', async ({ prefix }) => {
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      await redis.ping();
      coalesceWrites(redis);
      coalesceWrites(redis); // idempotent
      const { socket, writes } = spyWrites(redis);

      const keys = Array.from({ length: 20 }, (_, i) => `${prefix}:k${i}`);
      const replies = await Promise.all(keys.map((k, i) => redis.set(k, String(i)).then(() => redis.get(k))));
      expect(replies).toEqual(keys.map((_, i) => String(i)));
      // 20 SETs issued in one turn: one write of 20 commands (then the GETs, one turn later).
      expect(writes[0]).toBe(20);
      expect(socket.writableCorked).toBe(0);

      // Errors still reach the caller.
      await expect(redis.call('NO-SUCH-COMMAND')).rejects.toThrow(/unknown command/i);
    } finally {
      redis.disconnect();
    }
  });

  test('background commands wait for the next foreground write and leave with it, or go alone within 2 ms', async ({ prefix }) => {
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      await redis.ping();
      coalesceWrites(redis);
      const { socket, writes } = spyWrites(redis);

      const fill = inBackground(redis, () => redis.set(`${prefix}:bg`, 'x'));
      await nextTurn();
      expect(writes).toEqual([]); // a turn later it is still waiting
      const read = redis.get(`${prefix}:bg`);
      expect(await Promise.all([fill, read])).toEqual(['OK', 'x']);
      expect(writes).toEqual([2]); // one write for both, in order

      const started = performance.now();
      expect(await inBackground(redis, () => redis.set(`${prefix}:alone`, 'y'))).toBe('OK');
      expect(writes).toEqual([2, 1]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(1.5);
      expect(socket.writableCorked).toBe(0);
      // Without coalesceWrites inBackground just runs the function.
      const plain = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
      try {
        expect(await inBackground(plain, () => plain.set(`${prefix}:plain`, 'z'))).toBe('OK');
      } finally {
        plain.disconnect();
      }
    } finally {
      redis.disconnect();
    }
  });
});
