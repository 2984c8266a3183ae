export { createRegistry, registerPoolMetrics, queryObservers, createInstrumentedDb, metric, LATENCY_BUCKETS } from './metrics.ts';
export type { Registry } from './metrics.ts';
export { createLogger } from './logger.ts';
export type { Logger } from './logger.ts';
export { registerQueueMetrics, JOB_STATES } from './queue-metrics.ts';
export type { QueueLike, QueueMetricsOptions } from './queue-metrics.ts';
export { withTimeout } from './timeout.ts';
export { FastHistogram } from './histogram.ts';
export type { FastHistogramOptions, HistogramChild } from './histogram.ts';
