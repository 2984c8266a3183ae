export { QUEUE_SCHEDULE_GENERATION, TOPIC_CHANGES, TOPIC_CHANGES_DLQ, OUTBOX_NOTIFY_CHANNEL } from './wire.ts';
export { ROLES } from './roles.ts';
export type { Role } from './roles.ts';
export { hashPassword, verifyPassword, DUMMY_PASSWORD_HASH } from './password.ts';
