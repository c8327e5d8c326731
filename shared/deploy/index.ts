export { type FunctionDeploySettings, type DeployTarget, platformEnv, readDeploySettings, secretIdFor } from './deployment-plan.js';
export { type ApplyContext, type CommandRunner, type DeployPart, type DeployStep, type StepOutcome } from './deploy-step.js';
export { type ApplyReport, applySteps, buildDeploySteps, DEPLOY_PARTS, type DeployPlanInput, deriveAllUses, renderPlan, selectSteps } from './deploy-plan.js';
export { deriveFunctionUses, type FunctionUses, type Grant, grantsOf, invokerGrants, usesFromSources } from './function-access.js';
export { type DatabaseSpec, defaultDatabaseSpec } from './steps-database.js';
export { runDeployCli, type DeployCliIo } from './deploy-cli.js';
