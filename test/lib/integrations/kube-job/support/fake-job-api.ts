/**
 * An in-memory {@link JobApi}: Jobs with resourceVersions, subscriptions that behave as the shared
 * watch's do (the latest event of the Job replayed on subscribe, then every change), pods, and logs
 * (fixed strings or lazily generated ones of any size), with recorded calls and fault controls.
 */
import { Readable } from 'node:stream';
import { KubeStatusError, type TaskFailedError } from '../../../../../lib/errors.ts';
import type {
  JobApi,
  JobEvent,
  KubeJob,
  KubePod,
  LogReadOptions,
  PodEvent,
} from '../../../../../lib/integrations/kube-job/job-api.ts';

/** A log made on the fly: `lines` lines of exactly `lineBytes` bytes each (newline included). */
export interface GeneratedLog {
  lines: number;
  lineBytes: number;
}

export type FakeLog = string | GeneratedLog | { error: TaskFailedError };

interface JobSubscriber {
  key: string;
  onEvent: (event: JobEvent) => void;
}

/** What the real client throws for a non-2xx answer: the status, with the Status as body. */
export const makeStatusError = (code: number, reason: string, message: string) =>
  new KubeStatusError(code, reason, {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    message,
    reason,
    code,
  });

const generatedLine = (index: number, lineBytes: number): string => {
  const head = `line ${String(index).padStart(9, '0')} `;
  return `${head}${'x'.repeat(Math.max(0, lineBytes - head.length - 1))}\n`.slice(-lineBytes);
};

/** Yields a generated log lazily, in ~64 KiB chunks: nothing of it is ever held whole. */
function* generateLog(log: GeneratedLog, fromLine: number): Generator<Buffer> {
  const linesPerChunk = Math.max(1, Math.floor(65_536 / log.lineBytes));
  for (let line = fromLine; line < log.lines; line += linesPerChunk) {
    const parts: string[] = [];
    for (let i = line; i < Math.min(log.lines, line + linesPerChunk); i++) {
      parts.push(generatedLine(i, log.lineBytes));
    }
    yield Buffer.from(parts.join(''));
  }
}

export class FakeJobApi implements JobApi {
  readonly jobs = new Map<string, KubeJob>();
  pods: KubePod[] = [];
  readonly logs = new Map<string, FakeLog>();
  readonly calls: { method: string; args: unknown[] }[] = [];
  /** Bytes handed out by `readLog` streams so far. */
  logBytesServed = 0;
  /** Honour `limitBytes` as the API server does (else the reader must stop by itself). */
  honourLimitBytes = true;
  /** Set: subscriptions are refused with it (a watch the API refuses for good, e.g. 403). */
  watchError: TaskFailedError | undefined;
  getJobError: TaskFailedError | undefined;

  private resourceVersion = 100;
  private uidCounter = 0;
  /** The latest event of each Job, as the shared watch remembers it for late subscribers. */
  private readonly latest = new Map<string, JobEvent>();
  private readonly subscribers = new Set<JobSubscriber>();
  private readonly podSubscribers = new Set<(event: PodEvent) => void>();

  private record(method: string, ...args: unknown[]) {
    this.calls.push({ method, args });
  }

  callsOf(method: string) {
    return this.calls.filter((call) => call.method === method);
  }

  /** Job and pod subscriptions still open. */
  get openSubscriptions(): number {
    return this.subscribers.size + this.podSubscribers.size;
  }

  private emit(namespace: string, event: JobEvent) {
    const key = this.key(namespace, event.object.metadata?.name ?? '');
    this.latest.set(key, event);
    for (const subscriber of [...this.subscribers]) {
      if (subscriber.key === key) subscriber.onEvent(event);
    }
  }

  private key(namespace: string, name: string) {
    return `${namespace}/${name}`;
  }

  async createJob(namespace: string, job: KubeJob, signal: AbortSignal): Promise<KubeJob> {
    signal.throwIfAborted();
    this.record('createJob', namespace, job);
    const name =
      job.metadata?.name ?? `${job.metadata?.generateName ?? ''}${`x${++this.uidCounter}abc`}`;
    if (this.jobs.has(this.key(namespace, name))) {
      throw makeStatusError(409, 'AlreadyExists', `jobs.batch "${name}" already exists`);
    }
    const uid = `uid-${++this.uidCounter}`;
    const created: KubeJob = {
      ...structuredClone(job),
      metadata: {
        ...structuredClone(job.metadata),
        name,
        namespace,
        uid,
        resourceVersion: String(++this.resourceVersion),
        labels: { 'batch.kubernetes.io/controller-uid': uid, 'controller-uid': uid },
        managedFields: [{ manager: 'fake', operation: 'Update' }],
      },
      spec: {
        ...structuredClone(job.spec),
        selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
      },
      status: {},
    };
    this.jobs.set(this.key(namespace, name), created);
    this.emit(namespace, { type: 'ADDED', object: structuredClone(created) });
    return structuredClone(created);
  }

  /** Changes a Job as a controller would: a new resourceVersion and a MODIFIED event. */
  updateJob(namespace: string, name: string, change: (job: KubeJob) => void): KubeJob {
    const job = this.jobs.get(this.key(namespace, name));
    if (job === undefined) throw new Error(`no job ${name}`);
    change(job);
    job.metadata = { ...job.metadata, resourceVersion: String(++this.resourceVersion) };
    this.emit(namespace, { type: 'MODIFIED', object: structuredClone(job) });
    return structuredClone(job);
  }

  /** Sets a terminal condition (`Complete` or `Failed`) with status True. */
  finishJob(namespace: string, name: string, type: 'Complete' | 'Failed', reason?: string) {
    return this.updateJob(namespace, name, (job) => {
      job.status = {
        ...job.status,
        conditions: [
          {
            type: type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget',
            status: 'True',
            ...(reason ? { reason } : {}),
          },
          {
            type,
            status: 'True',
            ...(reason ? { reason, message: 'Job has reached the specified backoff limit' } : {}),
          },
        ],
      };
    });
  }

  /** Deletes a Job behind the integration's back (someone ran kubectl delete). */
  removeJob(namespace: string, name: string) {
    const job = this.jobs.get(this.key(namespace, name));
    if (job === undefined) return;
    this.jobs.delete(this.key(namespace, name));
    job.metadata = { ...job.metadata, resourceVersion: String(++this.resourceVersion) };
    this.emit(namespace, { type: 'DELETED', object: structuredClone(job) });
  }

  /**
   * What the shared watch's re-list does for a Job that vanished while its stream was silent: a
   * `DELETED` with only a name (no uid) to the Job's subscribers, when the Job no longer exists.
   */
  relist(namespace: string, name: string) {
    if (this.jobs.has(this.key(namespace, name))) return;
    const key = this.key(namespace, name);
    for (const subscriber of [...this.subscribers]) {
      if (subscriber.key === key) {
        subscriber.onEvent({ type: 'DELETED', object: { metadata: { name, namespace } } });
      }
    }
  }

  async getJob(namespace: string, name: string, signal: AbortSignal): Promise<KubeJob> {
    signal.throwIfAborted();
    this.record('getJob', namespace, name);
    if (this.getJobError) throw this.getJobError;
    const job = this.jobs.get(this.key(namespace, name));
    if (job === undefined) throw makeStatusError(404, 'NotFound', `jobs.batch "${name}" not found`);
    return structuredClone(job);
  }

  subscribeToJob(
    namespace: string,
    name: string,
    onEvent: (event: JobEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    this.record('subscribeToJob', namespace, name);
    const subscriber: JobSubscriber = { key: this.key(namespace, name), onEvent };
    return this.subscribe(this.subscribers, subscriber, signal, () => {
      const known = this.latest.get(subscriber.key);
      if (known !== undefined) onEvent(known);
    });
  }

  /** Pod subscriptions send what `emitPodEvent` is given. */
  subscribeToPods(
    namespace: string,
    labelSelector: string,
    onEvent: (event: PodEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    this.record('subscribeToPods', namespace, labelSelector);
    return this.subscribe(this.podSubscribers, onEvent, signal, () => {});
  }

  /** Open until aborted (or refused with `watchError`), as the shared watch's subscriptions are. */
  private subscribe<T>(
    set: Set<T>,
    subscriber: T,
    signal: AbortSignal,
    replay: () => void,
  ): Promise<void> {
    return new Promise<void>((_resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      if (this.watchError !== undefined) {
        const refusal = this.watchError;
        queueMicrotask(() => reject(refusal));
        return;
      }
      set.add(subscriber);
      signal.addEventListener(
        'abort',
        () => {
          set.delete(subscriber);
          reject(signal.reason);
        },
        { once: true },
      );
      replay();
    });
  }

  /** Sends a pod event to every open pod subscription. */
  emitPodEvent(event: PodEvent) {
    for (const listener of this.podSubscribers) listener(event);
  }

  async listPods(namespace: string, labelSelector: string, signal: AbortSignal) {
    signal.throwIfAborted();
    this.record('listPods', namespace, labelSelector);
    const wanted = labelSelector.split(',').map((pair) => pair.split('=') as [string, string]);
    return this.pods
      .filter((pod) => (pod.metadata?.namespace ?? 'default') === namespace)
      .filter((pod) => wanted.every(([key, value]) => pod.metadata?.labels?.[key] === value))
      .map((pod) => structuredClone(pod));
  }

  async deleteJob(namespace: string, name: string, propagationPolicy: string, signal: AbortSignal) {
    signal.throwIfAborted();
    this.record('deleteJob', namespace, name, propagationPolicy);
    this.removeJob(namespace, name);
  }

  async readLog(
    namespace: string,
    pod: string,
    container: string,
    options: LogReadOptions,
    signal: AbortSignal,
  ): Promise<Readable> {
    signal.throwIfAborted();
    this.record('readLog', namespace, pod, container, options);
    const log = this.logs.get(`${pod}/${container}`);
    if (log === undefined) {
      throw makeStatusError(
        400,
        'BadRequest',
        `container "${container}" in pod "${pod}" is not valid`,
      );
    }
    if (typeof log === 'object' && 'error' in log) throw log.error;
    let chunks: Iterable<Buffer>;
    if (typeof log === 'string') {
      let text = log;
      if (options.tailLines !== undefined) {
        const lines = text.split(/(?<=\n)/);
        text = lines.slice(Math.max(0, lines.length - options.tailLines)).join('');
      }
      chunks = [Buffer.from(text)];
    } else {
      const fromLine =
        options.tailLines === undefined ? 0 : Math.max(0, log.lines - options.tailLines);
      chunks = generateLog(log, fromLine);
    }
    const limit = this.honourLimitBytes ? options.limitBytes : undefined;
    const api = this;
    function* limited(): Generator<Buffer> {
      let sent = 0;
      for (const chunk of chunks) {
        const part = limit === undefined ? chunk : chunk.subarray(0, Math.max(0, limit - sent));
        if (part.length === 0) return;
        sent += part.length;
        api.logBytesServed += part.length;
        yield part;
      }
    }
    return Readable.from(limited(), { objectMode: false });
  }
}

/** A pod of a Job as the Job controller makes it. */
export const makeJobPod = (
  job: KubeJob,
  podName: string,
  containers: readonly string[],
  status: KubePod['status'] = { phase: 'Succeeded' },
): KubePod => {
  const uid = job.metadata?.uid ?? '';
  return {
    metadata: {
      name: podName,
      namespace: job.metadata?.namespace ?? 'default',
      labels: { 'batch.kubernetes.io/controller-uid': uid, 'job-name': job.metadata?.name ?? '' },
    },
    spec: { containers: containers.map((name) => ({ name })) },
    status,
  };
};
