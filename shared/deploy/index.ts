export { type FunctionDeploySettings, type DeployTarget, readDeploySettings, secretIdFor, renderDeploymentPlan } from './deployment-plan.js';
