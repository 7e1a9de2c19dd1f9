/** The workflows this worker serves; the bundle's entry point. */
export { trialSweep } from './trial-sweep';
