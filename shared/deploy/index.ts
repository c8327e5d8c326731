export { type FunctionDeploySettings, type DeployTarget, platformEnv, readDeploySettings, secretIdFor, renderDeploymentPlan } from './deployment-plan.js';
