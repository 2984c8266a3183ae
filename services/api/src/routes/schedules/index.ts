import { scheduleReadRoutes } from './read.ts';
import { scheduleWriteRoutes } from './write.ts';

export const scheduleRoutes = [...scheduleReadRoutes, ...scheduleWriteRoutes];
