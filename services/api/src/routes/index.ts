import type { RegisteredRoute } from '../http/route.ts';
import { apiKeyRoutes } from './api-keys/index.ts';
import { authRoutes } from './auth.ts';
import { departmentRoutes } from './departments/index.ts';
import { employeeRoutes } from './employees/index.ts';
import { generationRoutes } from './generation/index.ts';
import { meRoutes } from './me.ts';
import { schedulingRoutes } from './schedules/all.ts';

/** Every API route; the OpenAPI document is generated from this list. */
export const allRoutes: readonly RegisteredRoute[] = [
  ...authRoutes,
  ...meRoutes,
  ...departmentRoutes,
  ...schedulingRoutes,
  ...employeeRoutes,
  ...apiKeyRoutes,
  ...generationRoutes,
];
