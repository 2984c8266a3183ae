import { availabilityRoutes } from './availability.ts';
import { employeeListRoutes } from './list.ts';
import { employeeReadRoutes } from './read.ts';
import { workRuleRoutes } from './rules.ts';
import { shiftRequestRoutes } from './shift-requests.ts';
import { timeOffRoutes } from './time-off.ts';
import { employeeWriteRoutes } from './write.ts';

export const employeeRoutes = [
  ...employeeListRoutes, ...employeeReadRoutes, ...employeeWriteRoutes,
  ...workRuleRoutes, ...availabilityRoutes, ...timeOffRoutes, ...shiftRequestRoutes,
];
