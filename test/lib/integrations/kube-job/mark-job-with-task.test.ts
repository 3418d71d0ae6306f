import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  markJobWithTask,
  pollIdLabel,
  taskIdLabel,
  workerNameAnnotation,
} from '../../../../lib/integrations/kube-job/mark-job-with-task.ts';

const job = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'pi', labels: { team: 'a' }, annotations: { note: 'keep' } },
  spec: { template: { spec: { containers: [] } } },
};

describe('markJobWithTask', () => {
  test('adds the poll id and task id labels and the workerName annotation, keeping the user’s', () => {
    const marked = markJobWithTask(job, {
      poll: { workerName: 'host-1/0123456789ab', pollId: '0123456789ab' },
      taskId: 'fedcba987654',
    });
    assert.deepEqual(marked.metadata?.labels, {
      team: 'a',
      [pollIdLabel]: '0123456789ab',
      [taskIdLabel]: 'fedcba987654',
    });
    assert.deepEqual(marked.metadata?.annotations, {
      note: 'keep',
      [workerNameAnnotation]: 'host-1/0123456789ab',
    });
    assert.deepEqual(marked.spec, job.spec, 'the pod template is left alone');
    assert.deepEqual(job.metadata.labels, { team: 'a' }, 'the input is not changed');
  });

  test('a value that is not a valid label value is left out of the labels', () => {
    const marked = markJobWithTask(job, {
      poll: { workerName: 'w', pollId: '-bad-' },
      taskId: 'x'.repeat(64),
    });
    assert.deepEqual(marked.metadata?.labels, { team: 'a' });
    assert.equal(marked.metadata?.annotations?.[workerNameAnnotation], 'w');
  });

  test('without a poll or task id the Job is returned as it is', () => {
    assert.equal(markJobWithTask(job, {}), job);
  });
});
