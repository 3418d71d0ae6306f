/**
 * A whole local Kubernetes cluster: the API server with the Job controller and the simulated
 * kubelet running on its store, so Jobs run, pods go through their phases and logs can be read.
 */
import type { Readable } from 'node:stream';
import { JobController } from './controllers/job-controller.ts';
import { type ExecutionMode, SimulatedKubelet } from './kubelet/kubelet.ts';
import type { PodLogQuery, PodLogSource } from './log-source.ts';
import { registerPlatformTypes } from './platform-types.ts';
import { type KubeApiServer, type KubeApiServerOptions, startKubeApiServer } from './server.ts';
import { makeServiceAccountTokens, type ServiceAccountTokens } from './service-account-tokens.ts';

export interface LocalKubeClusterOptions
  extends Omit<KubeApiServerOptions, 'logSource' | 'onStart'> {
  /**
   * How containers run: `scripted` (deterministic, from the pod's
   * `local.eks-activity-worker/script` annotation) or `local` (the container's command as a host
   * process: loopback demos only, it runs whatever a pod asks). @default 'scripted'
   */
  execution?: ExecutionMode;
  /** From a pod's creation to its containers running. @default 50 */
  podStartDelayMs?: number;
  /** How long a scripted container without its own `durationMs` runs. @default 100 */
  defaultRunMs?: number;
  /** ErrImagePull -> ImagePullBackOff, and container restart back-off. @default 100 */
  backOffDelayMs?: number;
  /** First delay before a failed Job pod is replaced (doubles per failure). @default 0 */
  podFailureBackOffMs?: number;
}

export interface LocalKubeCluster extends KubeApiServer {
  kubelet: SimulatedKubelet;
  jobController: JobController;
  /** Issues the ServiceAccount tokens the API server accepts (pods' in-cluster identity). */
  serviceAccounts: ServiceAccountTokens;
}

/** Starts the API server, then the Job controller and the kubelet on its store. */
export async function startLocalKubeCluster(
  options: LocalKubeClusterOptions,
): Promise<LocalKubeCluster> {
  const {
    execution,
    podStartDelayMs,
    defaultRunMs,
    backOffDelayMs,
    podFailureBackOffMs,
    ...serverOptions
  } = options;
  let kubelet: SimulatedKubelet | undefined;
  let jobController: JobController | undefined;
  // The server makes the store, the kubelet needs it: the log source finds the kubelet late.
  const logSource: PodLogSource = {
    open(namespace: string, pod: string, query: PodLogQuery): Promise<Readable> {
      if (!kubelet) return Promise.reject(new Error('the kubelet has not started'));
      return kubelet.open(namespace, pod, query);
    },
  };
  const server = await startKubeApiServer({
    ...serverOptions,
    logSource,
    onStart(store) {
      registerPlatformTypes(store);
      const startedKubelet = new SimulatedKubelet({
        store,
        ...(execution === undefined ? {} : { execution }),
        ...(podStartDelayMs === undefined ? {} : { podStartDelayMs }),
        ...(defaultRunMs === undefined ? {} : { defaultRunMs }),
        ...(backOffDelayMs === undefined ? {} : { backOffDelayMs }),
      });
      const startedController = new JobController({
        store,
        ...(podFailureBackOffMs === undefined ? {} : { podFailureBackOffMs }),
      });
      kubelet = startedKubelet;
      jobController = startedController;
      startedController.start();
      startedKubelet.start();
      return {
        async close() {
          startedController.close();
          await startedKubelet.close();
        },
      };
    },
  });
  if (!kubelet || !jobController) {
    await server.close();
    throw new Error('the API server did not start the controllers');
  }
  const serviceAccounts = makeServiceAccountTokens(server.clusterName);
  server.auth.acceptServiceAccountTokens(serviceAccounts);
  return Object.assign(server, { kubelet, jobController, serviceAccounts });
}
