import { describe, expect, test } from 'vitest';
import { DEV_JWT_SECRET, loadApiConfig } from './config.ts';

const SECRET = 'a-real-random-secret-of-more-than-32-characters';

describe('JWT_SECRET', () => {
  test('the development default works outside production', () => {
    expect(loadApiConfig({}).JWT_SECRET).toBe(DEV_JWT_SECRET);
    expect(loadApiConfig({ NODE_ENV: 'test' }).JWT_SECRET).toBe(DEV_JWT_SECRET);
  });

  test.each([
    ['unset (the built-in default)', {}],
    ['the default set explicitly (compose)', { JWT_SECRET: DEV_JWT_SECRET }],
    ['the placeholder of infra/k8s/secret.example.yaml', { JWT_SECRET: 'CHANGE-ME-to-at-least-32-random-characters' }],
  ])('production refuses to boot with %s, naming the variable', (_, env) => {
    expect(() => loadApiConfig({ NODE_ENV: 'production', ...env })).toThrow(/invalid configuration:\n {2}JWT_SECRET: is the public development default/);
  });

  test('production boots with a secret of its own', () => {
    expect(loadApiConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET }).JWT_SECRET).toBe(SECRET);
  });
});

describe('TRUST_PROXY', () => {
  const trust = (v: string, env: Record<string, string> = {}): unknown => loadApiConfig({ TRUST_PROXY: v, ...env }).TRUST_PROXY;

  test('false, a hop count, or trusted addresses and subnets', () => {
    expect(loadApiConfig({}).TRUST_PROXY).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('0')).toBe(false);
    expect(trust('1')).toBe(1);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 192.168.1.7,loopback,fd00::/8')).toEqual(['10.0.0.0/8', '192.168.1.7', 'loopback', 'fd00::/8']);
    expect(trust('true')).toBe(true);
  });

  test.each(['yes', '10.0.0.0/33', '10.0.0.300', 'loopback,nonsense', '1.2.3.4/8/9', '-1'])('%s is refused, naming the variable', (v) => {
    expect(() => trust(v)).toThrow(/TRUST_PROXY: false, a hop count/);
  });

  test('production refuses true (the left-most X-Forwarded-For is whatever the client wrote)', () => {
    expect(() => trust('true', { NODE_ENV: 'production', JWT_SECRET: SECRET })).toThrow(/TRUST_PROXY: true believes the client-controlled/);
    expect(trust('1', { NODE_ENV: 'production', JWT_SECRET: SECRET })).toBe(1);
  });
});

describe('KAFKA_TOPIC_REPLICATION_FACTOR / KAFKA_TOPIC_MIN_INSYNC_REPLICAS', () => {
  test('unset: the broker decides; set: they must fit together', () => {
    expect(loadApiConfig({}).KAFKA_TOPIC_REPLICATION_FACTOR).toBeUndefined();
    expect(loadApiConfig({ KAFKA_TOPIC_REPLICATION_FACTOR: '3', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2' })).toMatchObject({ KAFKA_TOPIC_REPLICATION_FACTOR: 3, KAFKA_TOPIC_MIN_INSYNC_REPLICAS: 2 });
    expect(() => loadApiConfig({ KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2' })).toThrow(/KAFKA_TOPIC_MIN_INSYNC_REPLICAS: KAFKA_TOPIC_MIN_INSYNC_REPLICAS needs KAFKA_TOPIC_REPLICATION_FACTOR/);
    expect(() => loadApiConfig({ KAFKA_TOPIC_REPLICATION_FACTOR: '2', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '3' })).toThrow(/KAFKA_TOPIC_MIN_INSYNC_REPLICAS: must be at most/);
    expect(() => loadApiConfig({ KAFKA_TOPIC_REPLICATION_FACTOR: '0' })).toThrow(/KAFKA_TOPIC_REPLICATION_FACTOR/);
  });
});

describe('Redis and relay settings', () => {
  test('REDIS_CLUSTER is off by default, true/1 turn it on, anything else is refused naming it', () => {
    expect(loadApiConfig({}).REDIS_CLUSTER).toBe(false);
    expect(loadApiConfig({ REDIS_CLUSTER: 'true' }).REDIS_CLUSTER).toBe(true);
    expect(loadApiConfig({ REDIS_CLUSTER: '1' }).REDIS_CLUSTER).toBe(true);
    expect(() => loadApiConfig({ REDIS_CLUSTER: 'yes' })).toThrow(/REDIS_CLUSTER/);
  });

  test('RELAY_PRUNE_CHUNK_SIZE defaults to 1000 and must be a positive integer', () => {
    expect(loadApiConfig({}).RELAY_PRUNE_CHUNK_SIZE).toBe(1000);
    expect(loadApiConfig({ RELAY_PRUNE_CHUNK_SIZE: '250' }).RELAY_PRUNE_CHUNK_SIZE).toBe(250);
    for (const bad of ['0', '-5', '1.5', 'many']) expect(() => loadApiConfig({ RELAY_PRUNE_CHUNK_SIZE: bad })).toThrow(/RELAY_PRUNE_CHUNK_SIZE/);
  });
});
