import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  type AnswerHandOffMessage,
  HandOffMessageError,
  makeAnswerHandOffBody,
  makeQueueHandOff,
  maxHandOffMessageBytes,
  parseHandOffMessage,
  parseQueuedMessage,
  readHandedOffAnswer,
} from '../../../lib/worker/hand-off-message.ts';
import { MemoryQueue } from './support/lambda-fakes.ts';

const task = {
  activityArn: 'arn:aws:states:us-east-1:123456789012:activity:p-eks-runJob-sync',
  activityName: 'p-eks-runJob-sync',
  taskToken: `secret-token-${'t'.repeat(900)}`,
  input: '{"Namespace":"default"}',
};
const progress = {
  checkpoint: { jobName: 'j' },
  handOffCount: 0,
  firstReceivedAtMs: 1_700_000_000_000,
};

const roundTrip = (body: string) => {
  const message = parseQueuedMessage(body);
  assert.equal(message.version, 2);
  return readHandedOffAnswer(message as AnswerHandOffMessage);
};

/** A JSON output of exactly 262,144 bytes (Step Functions' limit), mostly quotes to escape. */
const makeLargeJsonOutput = (): string => {
  const items = Array.from({ length: 20_000 }, (_value, index) => `"v${index}"`).join(',');
  const head = `{"items":[${items}],"pad":"`;
  return `${head}${'x'.repeat(262_144 - head.length - 2)}"}`;
};

describe('answer hand-off message', () => {
  test('a success answer round-trips to the same output, without the task input or checkpoint', () => {
    const body = makeAnswerHandOffBody(task, progress, { kind: 'success', output: '{"a":"é"}' });
    const parsed = JSON.parse(body) as Record<string, unknown>;
    assert.equal(parsed.version, 2);
    assert.equal(parsed.handOffCount, 1);
    assert.equal(parsed.input, undefined);
    assert.equal(parsed.checkpoint, undefined);
    assert.deepEqual(roundTrip(body), { kind: 'success', output: '{"a":"é"}' });
  });

  test('a failure answer round-trips to the same error and cause', () => {
    const failure = { kind: 'failure', error: 'EKS.JobFailed', cause: '{"x":1}' } as const;
    assert.deepEqual(roundTrip(makeAnswerHandOffBody(task, progress, failure)), failure);
  });

  test('a 256 KiB output too large as text is compressed within the SQS limit and decodes unchanged', () => {
    const output = makeLargeJsonOutput();
    assert.equal(Buffer.byteLength(output), 262_144);
    const body = makeAnswerHandOffBody(task, progress, { kind: 'success', output });
    assert.ok(Buffer.byteLength(body) <= maxHandOffMessageBytes);
    assert.equal(
      typeof (JSON.parse(body) as { answer: Record<string, unknown> }).answer.outputGzipBase64,
      'string',
    );
    assert.deepEqual(roundTrip(body), { kind: 'success', output });
  });

  test('an output too large even compressed becomes an EKS.WorkerInterrupted failure that fits', () => {
    const output = JSON.stringify({ data: randomBytes(196_000).toString('base64') });
    const body = makeAnswerHandOffBody(task, progress, { kind: 'success', output });
    assert.ok(Buffer.byteLength(body) <= maxHandOffMessageBytes);
    const answer = roundTrip(body);
    assert.equal(answer.kind, 'failure');
    assert.equal(answer.kind === 'failure' ? answer.error : '', 'EKS.WorkerInterrupted');
  });

  test('a task-only parser refuses an answer message (a resumer predating answers does not re-run it)', () => {
    const body = makeAnswerHandOffBody(task, progress, { kind: 'success', output: '{}' });
    assert.throws(() => parseHandOffMessage(body), HandOffMessageError);
  });

  test('an answer message without a valid answer is refused, naming the field but not the token', () => {
    const body = JSON.stringify({
      ...JSON.parse(makeAnswerHandOffBody(task, progress, { kind: 'success', output: '{}' })),
      answer: { kind: 'success' },
    });
    assert.throws(
      () => parseQueuedMessage(body),
      (error: Error) => /invalid answer/.test(error.message) && !error.message.includes('secret'),
    );
  });

  test('parseQueuedMessage still reads version 1 task messages', () => {
    const handOff = makeQueueHandOff({ queue: new MemoryQueue(), delaySeconds: 1 });
    void handOff;
    const body = JSON.stringify({
      version: 1,
      ...task,
      handOffCount: 1,
      firstReceivedAt: '2023-11-14T22:13:20.000Z',
    });
    assert.equal(parseQueuedMessage(body).version, 1);
  });

  test('a queue hand-off carries answers only when asked to', async () => {
    const queue = new MemoryQueue();
    assert.equal(makeQueueHandOff({ queue, delaySeconds: 1 }).handOffAnswer, undefined);
    const withAnswers = makeQueueHandOff({ queue, delaySeconds: 3, carryAnswers: true });
    assert.ok(withAnswers.handOffAnswer);
    assert.equal(
      await withAnswers.handOffAnswer(task, progress, { kind: 'success', output: '{}' }),
      true,
    );
    assert.equal(queue.sent[0]?.delaySeconds, 3);
    assert.equal(queue.messages()[0]?.version, 2);
  });
});
