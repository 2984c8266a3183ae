export { EVENT_TYPES, envelopeSchema, scopesSchema, parseEvent } from './envelope.ts';
export type { ChangeEvent, EventType, EventScopes, ParseResult, UnknownTypeEvent } from './envelope.ts';
export { recordEvent, ancestorsOf } from './outbox.ts';
export { invalidationsFor, invalidationsForUnknownType } from './invalidations.ts';
export type { NewEvent } from './outbox.ts';
export { createOutboxRelay } from './relay.ts';
export type { OutboxRelay, RelayOptions, RelayRole, RelayStatus } from './relay.ts';
export { createKafka, ensureTopics, parseBrokers, topicReplicationOf } from './relay-kafka.ts';
export type { KafkaClientOptions, KafkaLogger, TopicReplication, TopicSpec } from './relay-kafka.ts';
