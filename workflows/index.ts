// The worker bundles this file: every workflow Faultline runs.
export { runExperiment } from './experiment.ts';
export { admission } from './admission.ts';
export { scheduledRun } from './scheduled.ts';
export { runGameDay } from './gameday.ts';
export { sweepFleet } from './sweep.ts';
export { hostPresence } from './host.ts';
