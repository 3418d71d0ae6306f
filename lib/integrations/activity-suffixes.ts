/**
 * The activity suffixes the worker serves (contract §1): `eks-call`, and each other native EKS
 * API with and without `-sync`. The one list: serverless.yml's activities
 * (infra/serverless/activities.cjs), the native-resource mapping of the state-machine tools
 * (infra/state-machines/native-resources.ts) and the integrations (checked in `makeIntegrations`)
 * all read it. JSON because the Serverless Framework `require`s the `.cjs` that declares the
 * activities, and plain Node cannot require TypeScript.
 */
import suffixes from './activity-suffixes.json' with { type: 'json' };

export const activitySuffixes: readonly string[] = suffixes;
