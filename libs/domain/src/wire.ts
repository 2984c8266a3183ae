/**
 * Wire names: queues and topics other processes (and deployed consumers) address by name.
 * Renaming one is a breaking change that needs a migration plan, not a refactor.
 * Cache namespaces live with their key builders in @rota/cache.
 */
export const QUEUE_SCHEDULE_GENERATION = 'schedule-generation';
export const TOPIC_CHANGES = 'rota.changes.v1';
export const TOPIC_CHANGES_DLQ = 'rota.changes.v1.dlq';
/** Postgres NOTIFY channel the outbox trigger signals on commit. */
export const OUTBOX_NOTIFY_CHANNEL = 'rota_outbox';
