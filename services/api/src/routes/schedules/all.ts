import { analyticsRoutes } from '../analytics/index.ts';
import { demandRoutes } from '../demand/index.ts';
import { shiftRoutes } from '../shifts/index.ts';
import { templateRoutes } from '../templates/index.ts';
import { scheduleRoutes } from './index.ts';

/** Templates, demand, schedules, manual shifts and analytics (issue #3). */
export const schedulingRoutes = [...templateRoutes, ...demandRoutes, ...scheduleRoutes, ...shiftRoutes, ...analyticsRoutes];
