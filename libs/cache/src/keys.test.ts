import { describe, expect, test } from 'vitest';
import { canonicalKey, entryKey, entryScopes, scopes, versionKey } from './keys.ts';

describe('keys', () => {
  test('version and entry keys of a namespace share one Cluster hash tag', () => {
    expect(versionKey('employees', scopes.department(7))).toBe('rota:{employees}:v:dept:7');
    const e = entryKey('employees', { departmentId: 7 }, [scopes.subtree(7)]);
    expect(e).toMatch(/^rota:\{employees\}:e:[A-Za-z0-9_-]{22}$/);
  });

  test('scope builders', () => {
    expect(scopes.departmentChange(9, [1, 7])).toEqual(['dept:9', 'tree:9', 'tree:1', 'tree:7']);
    expect(scopes.employee(42n)).toBe('emp:42');
    expect(scopes.schedule('s1')).toBe('sched:s1');
    expect(scopes.all).toBe('all');
  });

  test('canonical keys ignore member order and undefined members', () => {
    expect(canonicalKey({ b: 1, a: { d: [1, 2], c: undefined } })).toBe(canonicalKey({ a: { d: [1, 2] }, b: 1 }));
    expect(canonicalKey({ a: [1, 2] })).not.toBe(canonicalKey({ a: [2, 1] }));
    expect(canonicalKey({ a: 1n })).toBe(canonicalKey({ a: '1' }));
    expect(canonicalKey('{"a":1}')).not.toBe(canonicalKey({ a: 1 }));
  });

  test('the scope set is part of the entry identity; its order is not', () => {
    const a = entryKey('employees', 'k', ['dept:1', 'all']);
    expect(entryKey('employees', 'k', ['all', 'dept:1', 'all'])).toBe(a);
    expect(entryKey('employees', 'k', ['all'])).not.toBe(a);
    expect(entryKey('schedules', 'k', ['dept:1', 'all'])).not.toBe(a);
    expect(entryScopes(['b', 'a', '*'])).toEqual(['*', 'a', 'b']);
  });

  test('rejects parts that would break the hash tag', () => {
    expect(() => versionKey('employees', 'x{y}')).toThrow(TypeError);
    expect(() => versionKey('employees', '')).toThrow(TypeError);
    expect(() => entryKey('employees', 'k', ['a b'])).toThrow(TypeError);
  });
});
