export { type TrialDeps, type TrialOutcome, type TrialFigures, grantTrial, trialFigures } from './trials.js';
