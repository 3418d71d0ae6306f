/**
 * A recording proxy in front of the local Step Functions service. The worker talks to it instead
 * of the service, so the bench sees, on its own clock, when each task was handed out, each
 * heartbeat and the answer arrived. AWS's history has no heartbeat events and the local service
 * exposes no hook, so the wire is the only honest place to watch them.
 *
 * Requests are forwarded byte for byte with their headers (the SigV4 signature covers `host`, and
 * the verifier checks whatever `host` arrives). Task tokens are only used as map keys, never
 * printed.
 */
import { createHash } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** What one task went through, as seen on the wire (times are `performance.now()` ms). */
export interface TaskRecord {
  /** The Job name in the task input (`Job.metadata.name`), the key the bench correlates on. */
  jobName: string | undefined;
  /** When `GetActivityTask` answered with this task. */
  deliveredAtMs: number;
  /** When each `SendTaskHeartbeat` arrived (its request fully received). */
  heartbeatsAtMs: number[];
  /** Heartbeats Step Functions refused (status not 200), by error type. */
  refusedHeartbeats: string[];
  /** When those refused heartbeats arrived (each is in `heartbeatsAtMs` too). */
  refusedHeartbeatsAtMs: number[];
  /** When `SendTaskSuccess` / `SendTaskFailure` arrived. */
  answeredAtMs?: number;
  answer?: 'success' | 'failure';
  /** When Step Functions first accepted (200) an answer for this task (the response's time). */
  acceptedAtMs?: number;
  /** Every `SendTaskSuccess` / `SendTaskFailure` sent for this task (a retry counts too). */
  answers: number;
  /** Those Step Functions accepted (200): more than one would be a task answered twice. */
  acceptedAnswers: number;
  /** `SendTaskSuccess` output size in bytes, and the output itself when asked to keep it. */
  outputBytes?: number;
  output?: string;
}

/**
 * What this proxy saw of a task it never handed out: a worker that carries on a task another
 * process received (a hand-off, a carrier) heartbeats and answers it by token alone. Merge these
 * across every proxy by token (see {@link mergeTaskViews}) to follow a task from process to process.
 */
export interface ForeignTaskRecord {
  heartbeatsAtMs: number[];
  refusedHeartbeats: string[];
  refusedHeartbeatsAtMs: number[];
  answeredAtMs?: number;
  acceptedAtMs?: number;
  answer?: 'success' | 'failure';
  answers: number;
  acceptedAnswers: number;
  outputBytes?: number;
  output?: string;
}

export interface SfnRecorder {
  /** `http://127.0.0.1:<port>`: give this to the worker as `AWS_ENDPOINT_URL_SFN`. */
  endpoint: string;
  /** Every task delivered so far, keyed by task token (never print the keys). */
  tasks: ReadonlyMap<string, TaskRecord>;
  /** Tasks by Job name. */
  taskForJob(jobName: string): TaskRecord | undefined;
  /**
   * Heartbeats and answers for tokens this proxy never handed out, by token (only recorded when
   * {@link SfnRecorder.recordForeign} is on; never print the keys).
   */
  foreign: ReadonlyMap<string, ForeignTaskRecord>;
  /** Record tokens this proxy did not hand out too. @default false */
  recordForeign: boolean;
  /** Keep `SendTaskSuccess` outputs (only for small runs: 256 KiB each). */
  keepOutputs: boolean;
  /** Forgets every record (between bench parts). */
  clear(): void;
  close(): Promise<void>;
}

const operationPrefix = 'AWSStepFunctions.';

const readAll = async (stream: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

const parseJson = (bytes: Buffer): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

const readJobName = (input: unknown): string | undefined => {
  if (typeof input !== 'string') return undefined;
  const parsed = parseJson(Buffer.from(input)) as
    | { Job?: { metadata?: { name?: unknown } } }
    | undefined;
  const name = parsed?.Job?.metadata?.name;
  return typeof name === 'string' ? name : undefined;
};

/** Starts the proxy on 127.0.0.1 (port 0) in front of `upstreamEndpoint`. */
export async function startSfnRecorder(upstreamEndpoint: string): Promise<SfnRecorder> {
  const upstream = new URL(upstreamEndpoint);
  // Long polls and one connection per running task: no socket limit, keep-alive as the SDK does.
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const tasks = new Map<string, TaskRecord>();
  const byJob = new Map<string, TaskRecord>();
  const foreign = new Map<string, ForeignTaskRecord>();
  const recorder: SfnRecorder = {
    endpoint: '',
    tasks,
    taskForJob: (jobName) => byJob.get(jobName),
    foreign,
    recordForeign: false,
    keepOutputs: false,
    clear: () => {
      tasks.clear();
      byJob.clear();
      foreign.clear();
    },
    close: async () => {},
  };

  const forward = (
    method: string,
    path: string,
    headers: IncomingHttpHeaders,
    body: Buffer,
    signal: AbortSignal,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const upstreamRequest = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method,
          path,
          headers,
          agent,
          signal,
        },
        (response) => {
          readAll(response).then(
            (responseBody) =>
              resolve({
                status: response.statusCode ?? 502,
                headers: response.headers,
                body: responseBody,
              }),
            reject,
          );
        },
      );
      upstreamRequest.on('error', reject);
      upstreamRequest.end(body);
    });

  const server = createServer((req, res) => {
    const clientGone = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) clientGone.abort();
    });
    void (async () => {
      const body = await readAll(req);
      const receivedAtMs = performance.now();
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(operationPrefix)
        ? target.slice(operationPrefix.length)
        : target;
      const requestJson =
        operation === 'GetActivityTask'
          ? undefined
          : operation.startsWith('SendTask') && parseJson(body);
      const token =
        requestJson && typeof requestJson.taskToken === 'string'
          ? requestJson.taskToken
          : undefined;
      let record: TaskRecord | ForeignTaskRecord | undefined =
        token === undefined ? undefined : tasks.get(token);
      if (!record && token !== undefined && recorder.recordForeign) {
        record = foreign.get(token);
        if (!record) {
          record = {
            heartbeatsAtMs: [],
            refusedHeartbeats: [],
            refusedHeartbeatsAtMs: [],
            answers: 0,
            acceptedAnswers: 0,
          };
          foreign.set(token, record);
        }
      }
      if (record) {
        if (operation === 'SendTaskHeartbeat') record.heartbeatsAtMs.push(receivedAtMs);
        if (operation === 'SendTaskSuccess' || operation === 'SendTaskFailure') {
          record.answeredAtMs ??= receivedAtMs;
          record.answers += 1;
          record.answer = operation === 'SendTaskSuccess' ? 'success' : 'failure';
          if (
            operation === 'SendTaskSuccess' &&
            requestJson &&
            typeof requestJson.output === 'string'
          ) {
            record.outputBytes = Buffer.byteLength(requestJson.output);
            if (recorder.keepOutputs) record.output = requestJson.output;
          }
        }
      }

      const answer = await forward(
        req.method ?? 'POST',
        req.url ?? '/',
        req.headers,
        body,
        clientGone.signal,
      );
      if (operation === 'GetActivityTask' && answer.status === 200) {
        const out = parseJson(answer.body);
        if (out && typeof out.taskToken === 'string') {
          const task: TaskRecord = {
            jobName: readJobName(out.input),
            deliveredAtMs: performance.now(),
            heartbeatsAtMs: [],
            refusedHeartbeats: [],
            refusedHeartbeatsAtMs: [],
            answers: 0,
            acceptedAnswers: 0,
          };
          tasks.set(out.taskToken, task);
          if (task.jobName !== undefined) byJob.set(task.jobName, task);
        }
      }
      if (
        record &&
        (operation === 'SendTaskSuccess' || operation === 'SendTaskFailure') &&
        answer.status === 200
      ) {
        record.acceptedAnswers += 1;
        record.acceptedAtMs ??= performance.now();
      }
      if (record && operation === 'SendTaskHeartbeat' && answer.status !== 200) {
        record.refusedHeartbeatsAtMs.push(receivedAtMs);
        const type = parseJson(answer.body)?.__type;
        record.refusedHeartbeats.push(typeof type === 'string' ? type : String(answer.status));
      }
      const { connection: _c, 'keep-alive': _k, ...headers } = answer.headers;
      res.writeHead(answer.status, headers);
      res.end(answer.body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/x-amz-json-1.0' });
      res.end('{"__type":"BadGateway","message":"bench proxy could not reach Step Functions"}');
    });
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  recorder.endpoint = `http://127.0.0.1:${port}`;
  recorder.close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    agent.destroy();
    await closed;
  };
  return recorder;
}

/** One task followed across every proxy (every worker process) that saw it. */
export interface MergedTask {
  jobName: string | undefined;
  /** The worker's `taskId` in its log lines (lib/worker/task-runner.ts makeTaskId). */
  taskId: string;
  /** When a proxy handed it out, and which (index in the recorders given). */
  deliveredAtMs: number;
  deliveredBy: number;
  /** Heartbeats Step Functions accepted, in time order, with the proxy each came through. */
  heartbeats: { atMs: number; by: number }[];
  /** Heartbeats Step Functions refused, with the proxy and the error type. */
  refusedHeartbeats: { atMs: number; by: number; type: string }[];
  /** Answers sent and accepted, all proxies together. */
  answers: number;
  acceptedAnswers: number;
  /** The first answer's arrival, and the first accepted answer's response, with their proxy. */
  answeredAtMs?: number;
  answeredBy?: number;
  acceptedAtMs?: number;
  acceptedBy?: number;
  answer?: 'success' | 'failure';
}

/**
 * Follows every task a proxy handed out across all the proxies (by token, which no output
 * shows): a task one process received may be heartbeated and answered by others. Tokens no
 * proxy handed out are left out. The result is keyed by Job name (a task taken twice gives two).
 */
export const mergeTaskViews = (recorders: readonly SfnRecorder[]): Map<string, MergedTask[]> => {
  const byToken = new Map<string, MergedTask>();
  recorders.forEach((recorder, by) => {
    for (const [token, task] of recorder.tasks) {
      byToken.set(token, {
        jobName: task.jobName,
        taskId: createHash('sha256').update(token).digest('hex').slice(0, 12),
        deliveredAtMs: task.deliveredAtMs,
        deliveredBy: by,
        heartbeats: [],
        refusedHeartbeats: [],
        answers: 0,
        acceptedAnswers: 0,
      });
    }
  });
  recorders.forEach((recorder, by) => {
    const views: [string, TaskRecord | ForeignTaskRecord][] = [
      ...recorder.tasks,
      ...recorder.foreign,
    ];
    for (const [token, view] of views) {
      const merged = byToken.get(token);
      if (!merged) continue;
      const refused = new Set(view.refusedHeartbeatsAtMs);
      for (const atMs of view.heartbeatsAtMs) {
        if (!refused.has(atMs)) merged.heartbeats.push({ atMs, by });
      }
      view.refusedHeartbeatsAtMs.forEach((atMs, index) => {
        merged.refusedHeartbeats.push({ atMs, by, type: view.refusedHeartbeats[index] ?? '?' });
      });
      merged.answers += view.answers;
      merged.acceptedAnswers += view.acceptedAnswers;
      if (
        view.answeredAtMs !== undefined &&
        (merged.answeredAtMs === undefined || view.answeredAtMs < merged.answeredAtMs)
      ) {
        merged.answeredAtMs = view.answeredAtMs;
        merged.answeredBy = by;
        if (view.answer) merged.answer = view.answer;
      }
      if (
        view.acceptedAtMs !== undefined &&
        (merged.acceptedAtMs === undefined || view.acceptedAtMs < merged.acceptedAtMs)
      ) {
        merged.acceptedAtMs = view.acceptedAtMs;
        merged.acceptedBy = by;
      }
    }
  });
  const byJob = new Map<string, MergedTask[]>();
  for (const task of byToken.values()) {
    task.heartbeats.sort((a, b) => a.atMs - b.atMs);
    task.refusedHeartbeats.sort((a, b) => a.atMs - b.atMs);
    const key = task.jobName ?? '';
    const list = byJob.get(key);
    if (list) list.push(task);
    else byJob.set(key, [task]);
  }
  return byJob;
};
