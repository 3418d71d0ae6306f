import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ActivityDoesNotExist,
  CreateActivityCommand,
  DeleteActivityCommand,
  DescribeActivityCommand,
  InvalidArn,
  InvalidName,
  ListActivitiesCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { LocalStepFunctions } from '../../../infra/local-stack/sfn/server.ts';
import { makeClient, startTestStepFunctions, uniqueName } from './support.ts';

describe('local Step Functions: activities', () => {
  let sfn: LocalStepFunctions;
  let client: SFNClient;
  before(async () => {
    sfn = await startTestStepFunctions();
    client = makeClient(sfn.endpoint);
  });
  after(async () => {
    client.destroy();
    await sfn.close();
  });

  test('CreateActivity returns the activity ARN in the local account and region', async () => {
    const name = uniqueName('eks-call');
    const created = await client.send(new CreateActivityCommand({ name }));
    assert.equal(created.activityArn, `arn:aws:states:us-east-1:123456789012:activity:${name}`);
    assert.ok(created.creationDate instanceof Date);
  });

  test('CreateActivity is idempotent on the name', async () => {
    const name = uniqueName('eks-call');
    const first = await client.send(new CreateActivityCommand({ name }));
    const second = await client.send(new CreateActivityCommand({ name }));
    assert.equal(second.activityArn, first.activityArn);
    assert.equal(second.creationDate?.getTime(), first.creationDate?.getTime());
  });

  for (const name of ['', 'has space', 'a/b', 'x'.repeat(81), 'brace{', 'star*', 'colon:']) {
    test(`CreateActivity refuses the name ${JSON.stringify(name.slice(0, 12))} with InvalidName`, async () => {
      await assert.rejects(client.send(new CreateActivityCommand({ name })), InvalidName);
    });
  }

  test('DescribeActivity returns name, ARN and creation date', async () => {
    const name = uniqueName('eks-runJob-sync');
    const { activityArn } = await client.send(new CreateActivityCommand({ name }));
    const described = await client.send(new DescribeActivityCommand({ activityArn }));
    assert.equal(described.name, name);
    assert.equal(described.activityArn, activityArn);
    assert.ok(described.creationDate instanceof Date);
  });

  test('DescribeActivity of an unknown activity raises ActivityDoesNotExist', async () => {
    const activityArn = 'arn:aws:states:us-east-1:123456789012:activity:never-created';
    await assert.rejects(
      client.send(new DescribeActivityCommand({ activityArn })),
      ActivityDoesNotExist,
    );
  });

  test('DescribeActivity of a malformed ARN raises InvalidArn', async () => {
    await assert.rejects(
      client.send(new DescribeActivityCommand({ activityArn: 'not-an-arn' })),
      InvalidArn,
    );
  });

  test('ListActivities pages with maxResults and nextToken', async () => {
    const names = [uniqueName('list'), uniqueName('list'), uniqueName('list')];
    for (const name of names) await client.send(new CreateActivityCommand({ name }));
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new ListActivitiesCommand({ maxResults: 2, nextToken }));
      assert.ok((page.activities ?? []).length <= 2);
      seen.push(...(page.activities ?? []).map((a) => a.name as string));
      nextToken = page.nextToken;
      pages += 1;
    } while (nextToken && pages < 100);
    for (const name of names) assert.ok(seen.includes(name), `${name} listed`);
    assert.ok(pages >= 2);
  });

  test('DeleteActivity removes the activity', async () => {
    const { activityArn } = await client.send(
      new CreateActivityCommand({ name: uniqueName('gone') }),
    );
    await client.send(new DeleteActivityCommand({ activityArn }));
    await assert.rejects(
      client.send(new DescribeActivityCommand({ activityArn })),
      ActivityDoesNotExist,
    );
  });
});
