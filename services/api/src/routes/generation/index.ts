import { cancelRoute } from './cancel.ts';
import { eventsRoute } from './events.ts';
import { readRoutes } from './read.ts';
import { submitRoute } from './submit.ts';

export const generationRoutes = [submitRoute, ...readRoutes, eventsRoute, cancelRoute];
