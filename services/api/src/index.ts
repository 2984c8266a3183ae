export { createApp } from './app.ts';
export type { AppOptions, ReadinessCheck } from './app.ts';
export { loadApiConfig, apiEnvSchema } from './config.ts';
export type { ApiConfig } from './config.ts';
export type { Deps } from './deps.ts';
