import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, configVariables, formatConfigTable, loadConfig } from '../../lib/config.ts';

const arnA = 'arn:aws:states:us-east-1:123456789012:activity:prod-eks-call';
const arnB = 'arn:aws:states:us-east-1:123456789012:activity:prod-eks-runJob-sync';

const problemsOf = (run: () => unknown): readonly string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.fail('expected a ConfigError');
};

describe('configuration', () => {
  test('defaults apply when only the activity ARNs are set', () => {
    const config = loadConfig({
      EKS_WORKER_ACTIVITY_ARNS: `${arnA}, ${arnB}`,
      AWS_REGION: 'us-east-1',
    });
    assert.deepEqual(config.activityArns, [arnA, arnB]);
    assert.equal(config.maxConcurrentTasks, 200);
    assert.equal(config.pollersPerActivity, 8);
    assert.equal(config.heartbeatIntervalMs, 20_000);
    assert.equal(config.shutdownGraceMs, 25_000);
    assert.equal(config.cleanupOnAbandon, true);
    assert.deepEqual(config.trustedEndpoints, []);
    assert.equal(config.tokenRefreshMs, 600_000);
    assert.equal(config.logLevel, 'INFO');
    assert.equal(config.region, 'us-east-1');
    assert.equal(config.jobPollIntervalMs, 60_000);
    assert.equal(config.controlPlanePollIntervalMs, 10_000);
    assert.equal(config.pollWindowMs, undefined);
    assert.ok(config.workerName.length >= 1 && config.workerName.length <= 80);
  });

  test('environment variables override defaults', () => {
    const config = loadConfig({
      EKS_WORKER_ACTIVITY_ARNS: arnA,
      AWS_REGION: 'eu-west-1',
      EKS_WORKER_NAME: 'worker-7',
      EKS_WORKER_MAX_CONCURRENT_TASKS: '50',
      EKS_WORKER_POLLERS_PER_ACTIVITY: '4',
      EKS_WORKER_HEARTBEAT_INTERVAL_MS: '5000',
      EKS_WORKER_SHUTDOWN_GRACE_MS: '0',
      EKS_WORKER_CLEANUP_ON_ABANDON: 'false',
      EKS_WORKER_TRUSTED_ENDPOINTS: 'https://10.0.0.1:6443,https://api.internal',
      EKS_WORKER_TOKEN_REFRESH_MS: '840000',
      EKS_WORKER_LOG_LEVEL: 'debug',
    });
    assert.equal(config.workerName, 'worker-7');
    assert.equal(config.maxConcurrentTasks, 50);
    assert.equal(config.pollersPerActivity, 4);
    assert.equal(config.heartbeatIntervalMs, 5_000);
    assert.equal(config.shutdownGraceMs, 0);
    assert.equal(config.cleanupOnAbandon, false);
    assert.deepEqual(config.trustedEndpoints, ['https://10.0.0.1:6443', 'https://api.internal']);
    assert.equal(config.tokenRefreshMs, 840_000);
    assert.equal(config.logLevel, 'DEBUG');
  });

  test('explicit options win over the environment', () => {
    const config = loadConfig(
      {
        EKS_WORKER_ACTIVITY_ARNS: arnA,
        EKS_WORKER_MAX_CONCURRENT_TASKS: '50',
        AWS_REGION: 'us-east-1',
      },
      { maxConcurrentTasks: 3, activityArns: [arnB] },
    );
    assert.equal(config.maxConcurrentTasks, 3);
    assert.deepEqual(config.activityArns, [arnB]);
  });

  test('every problem is reported at once, naming the variable', () => {
    const problems = problemsOf(() =>
      loadConfig({
        EKS_WORKER_MAX_CONCURRENT_TASKS: 'ten',
        EKS_WORKER_POLLERS_PER_ACTIVITY: '0',
        EKS_WORKER_CLEANUP_ON_ABANDON: 'maybe',
        EKS_WORKER_TRUSTED_ENDPOINTS: 'http://plain.example',
        EKS_WORKER_TOKEN_REFRESH_MS: '900000',
        EKS_WORKER_LOG_LEVEL: 'LOUD',
        AWS_REGION: 'mars',
      }),
    );
    const expected = [
      /EKS_WORKER_ACTIVITY_ARNS is required/,
      /EKS_WORKER_MAX_CONCURRENT_TASKS must be a whole number, got 'ten'/,
      /EKS_WORKER_POLLERS_PER_ACTIVITY must be a whole number from 1 to 1000, got 0/,
      /EKS_WORKER_CLEANUP_ON_ABANDON must be true or false/,
      /EKS_WORKER_TRUSTED_ENDPOINTS must be https:\/\/ URLs: http:\/\/plain.example/,
      /EKS_WORKER_TOKEN_REFRESH_MS must be a whole number from 1000 to 840000/,
      /EKS_WORKER_LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR, SILENT/,
      /AWS_REGION is not an AWS Region: 'mars'/,
    ];
    assert.equal(problems.length, expected.length, problems.join('\n'));
    for (const [index, pattern] of expected.entries()) assert.match(problems[index] ?? '', pattern);
  });

  test('an ARN that is not an activity ARN is named in the problem', () => {
    const problems = problemsOf(() =>
      loadConfig({
        EKS_WORKER_ACTIVITY_ARNS: `${arnA},arn:aws:states:us-east-1:123456789012:stateMachine:x`,
        AWS_REGION: 'us-east-1',
      }),
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /stateMachine:x/);
  });

  test('an invalid explicit option is reported with the option name', () => {
    const problems = problemsOf(() =>
      loadConfig(
        { EKS_WORKER_ACTIVITY_ARNS: arnA, AWS_REGION: 'us-east-1' },
        { heartbeatIntervalMs: 10 },
      ),
    );
    assert.match(problems[0] ?? '', /option heartbeatIntervalMs must be a whole number from 1000/);
  });

  test('the health and metrics listener is off unless EKS_WORKER_HTTP_PORT is set; 0 picks a port', () => {
    const base = { EKS_WORKER_ACTIVITY_ARNS: arnA, AWS_REGION: 'us-east-1' };
    assert.equal(loadConfig(base).httpPort, undefined);
    assert.equal(loadConfig({ ...base, EKS_WORKER_HTTP_PORT: '' }).httpPort, undefined);
    assert.equal(loadConfig({ ...base, EKS_WORKER_HTTP_PORT: '8080' }).httpPort, 8080);
    assert.equal(loadConfig({ ...base, EKS_WORKER_HTTP_PORT: '0' }).httpPort, 0);
    const problems = problemsOf(() => loadConfig({ ...base, EKS_WORKER_HTTP_PORT: '70000' }));
    assert.match(problems[0] ?? '', /EKS_WORKER_HTTP_PORT must be a whole number from 0 to 65535/);
  });

  test('the Lambda poll window is read when set, and must be a positive whole number', () => {
    const base = { EKS_WORKER_ACTIVITY_ARNS: arnA, AWS_REGION: 'us-east-1' };
    assert.equal(
      loadConfig({ ...base, EKS_WORKER_POLL_WINDOW_MS: '690000' }).pollWindowMs,
      690_000,
    );
    const problems = problemsOf(() => loadConfig({ ...base, EKS_WORKER_POLL_WINDOW_MS: '0' }));
    assert.match(problems[0] ?? '', /EKS_WORKER_POLL_WINDOW_MS must be a whole number from 1/);
  });

  test('the variable table lists every variable with its default', () => {
    assert.equal(configVariables.length, 27);
    assert.ok(
      configVariables.every(
        (v) => (v.name.startsWith('EKS_WORKER_') || v.name === 'AWS_REGION') && v.meaning !== '',
      ),
    );
    assert.match(formatConfigTable(), /\| `EKS_WORKER_SHUTDOWN_GRACE_MS` \| 25000 \|/);
  });

  test('EKS_WORKER_STAGE: absent by default, read from the environment (the metrics stage)', () => {
    const base = { EKS_WORKER_ACTIVITY_ARNS: arnA, AWS_REGION: 'us-east-1' };
    assert.equal(loadConfig(base).stage, undefined);
    assert.equal(loadConfig({ ...base, EKS_WORKER_STAGE: ' prod ' }).stage, 'prod');
  });
});
