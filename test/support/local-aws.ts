/**
 * How tests talk to the local stack's AWS stand-ins as its admin identity: one place for the SDK
 * client settings and for the AWS CLI's environment, so every suite signs the same way.
 */
import { localIdentities, localRegion } from '../../infra/local-stack/identities.ts';

/** SDK client settings for a stand-in at `endpoint`; no retries, so errors surface as sent. */
export const adminSdkConfig = (endpoint: string) => ({
  endpoint,
  region: localRegion,
  maxAttempts: 1,
  credentials: {
    accessKeyId: localIdentities.admin.accessKeyId,
    secretAccessKey: localIdentities.admin.secretAccessKey,
  },
});

/** The AWS CLI's environment: admin keys, the local region, and no user config or pager. */
export const adminCliEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  AWS_ACCESS_KEY_ID: localIdentities.admin.accessKeyId,
  AWS_SECRET_ACCESS_KEY: localIdentities.admin.secretAccessKey,
  AWS_DEFAULT_REGION: localRegion,
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_PAGER: '',
});
