import { departmentReadRoutes } from './read.ts';
import { departmentWriteRoutes } from './write.ts';

export const departmentRoutes = [...departmentReadRoutes, ...departmentWriteRoutes];
export { visibleDepartments } from './read.ts';
