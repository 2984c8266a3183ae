import { createServer, type Server } from 'node:http';
import type { Admin, Kafka } from 'kafkajs';
import client from 'prom-client';
import type { KafkaLogger } from '@rota/events';

export type LagReporter = { stop(): Promise<void> };

/**
 * kafka_consumer_lag{topic,partition,group}: log-end offset minus the group's committed offset
 * (minus the log start while the group has committed nothing), for every partition of the topic,
 * refreshed every `intervalMs` through the admin API. Every replica reports the group's lag; sum
 * across partitions, max across instances.
 */
export function startLagReporter(o: {
  kafka: Kafka; registry: client.Registry; logger: KafkaLogger; topic: string; groupId: string; intervalMs: number;
}): LagReporter {
  const gauge = new client.Gauge({
    name: 'kafka_consumer_lag',
    help: 'Messages not yet committed by the consumer group, per partition',
    labelNames: ['topic', 'partition', 'group'],
    registers: [o.registry],
  });
  let admin: Admin | undefined;
  let stopped = false;
  let running: Promise<void> | undefined;
  const refresh = async (): Promise<void> => {
    try {
      if (!admin) {
        const a = o.kafka.admin();
        await a.connect();
        admin = a;
      }
      const [ends, groups] = await Promise.all([
        admin.fetchTopicOffsets(o.topic),
        admin.fetchOffsets({ groupId: o.groupId, topics: [o.topic] }),
      ]);
      const committed = new Map<number, bigint>();
      for (const p of groups[0]?.partitions ?? []) committed.set(p.partition, BigInt(p.offset));
      for (const p of ends) {
        const c = committed.get(p.partition) ?? -1n;
        const lag = c < 0n ? BigInt(p.high) - BigInt(p.low) : BigInt(p.high) - c;
        gauge.set({ topic: o.topic, partition: String(p.partition), group: o.groupId }, Number(lag < 0n ? 0n : lag));
      }
    } catch (err) {
      o.logger.debug({ err }, 'consumer lag refresh failed');
      const a = admin;
      admin = undefined;
      await a?.disconnect().catch(() => {});
    }
  };
  const timer = setInterval(() => {
    if (!running && !stopped) running = refresh().finally(() => { running = undefined; });
  }, o.intervalMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await admin?.disconnect().catch(() => {});
    },
  };
}

/** /metrics and /healthz on their own port (the invalidator has no other HTTP surface). */
export function startOpsServer(o: {
  registry: client.Registry; host: string; port: number; health: () => { ok: boolean; [k: string]: unknown };
  onListening?: (port: number) => void;
}): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      o.registry.metrics().then(
        (body) => { res.writeHead(200, { 'content-type': o.registry.contentType }).end(body); },
        (err: unknown) => { res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)); },
      );
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      const h = o.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: h.ok ? 'ok' : 'failing', ...h }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"not found"}}');
  });
  server.listen(o.port, o.host, () => {
    const a = server.address();
    o.onListening?.(typeof a === 'object' && a ? a.port : o.port);
  });
  return server;
}
