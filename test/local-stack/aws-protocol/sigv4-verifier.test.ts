import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ListActivitiesCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  type VerificationResult,
  verifySigV4Request,
} from '../../../infra/local-stack/aws-protocol/sigv4-verifier.ts';
import { localIdentities, localRegion } from '../../../infra/local-stack/identities.ts';

/** A server that records what the verifier said of each request and answers an empty list. */
function startRecordingServer(results: VerificationResult[]): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const result = await verifySigV4Request(
        {
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks),
        },
        { service: 'states', region: localRegion },
      );
      results.push(result);
      res.writeHead(result.ok ? 200 : 403, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        result.ok
          ? '{"activities":[]}'
          : JSON.stringify({ __type: result.code, message: result.message }),
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('SigV4 request verification', () => {
  const results: VerificationResult[] = [];
  let server: Server;
  let endpoint: string;
  before(async () => {
    server = await startRecordingServer(results);
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  const clientWith = (secretAccessKey: string) =>
    new SFNClient({
      endpoint,
      region: localRegion,
      credentials: { accessKeyId: localIdentities.admin.accessKeyId, secretAccessKey },
    });

  test('a request the AWS SDK signed with the identity secret is accepted', async () => {
    await clientWith(localIdentities.admin.secretAccessKey).send(
      new ListActivitiesCommand({ maxResults: 5 }),
    );
    const last = results.at(-1);
    assert.equal(last?.ok, true);
    assert.equal(last?.ok && last.identity.arn, localIdentities.admin.arn);
  });

  test('a request signed with another secret is refused as InvalidSignatureException', async () => {
    await assert.rejects(clientWith('not-the-secret').send(new ListActivitiesCommand({})), {
      name: 'InvalidSignatureException',
    });
  });

  test('a request signed for another region is refused', async () => {
    const client = new SFNClient({
      endpoint,
      region: 'eu-west-1',
      credentials: {
        accessKeyId: localIdentities.admin.accessKeyId,
        secretAccessKey: localIdentities.admin.secretAccessKey,
      },
    });
    await assert.rejects(client.send(new ListActivitiesCommand({})), {
      name: 'InvalidSignatureException',
    });
  });

  test('a request whose signature is older than 15 minutes is refused', async () => {
    const old = results.find((r) => r.ok);
    assert.ok(old, 'an accepted request came before');
    const result = await verifySigV4Request(
      {
        method: 'POST',
        url: '/',
        headers: {
          authorization: `AWS4-HMAC-SHA256 Credential=${localIdentities.admin.accessKeyId}/20200101/us-east-1/states/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
          'x-amz-date': '20200101T000000Z',
          host: 'x',
        },
        body: '',
      },
      { service: 'states', region: localRegion },
    );
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.code, 'SignatureExpired');
  });

  const awsCli = '.tools/bin/aws';
  test('a request signed by the AWS CLI is accepted', {
    skip: !existsSync(awsCli) && 'AWS CLI not installed (npm run tools)',
  }, async () => {
    const before = results.length;
    await promisify(execFile)(
      awsCli,
      ['stepfunctions', 'list-activities', '--endpoint-url', endpoint],
      {
        env: {
          PATH: process.env.PATH,
          AWS_ACCESS_KEY_ID: localIdentities.admin.accessKeyId,
          AWS_SECRET_ACCESS_KEY: localIdentities.admin.secretAccessKey,
          AWS_DEFAULT_REGION: localRegion,
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      },
    );
    assert.equal(results.length, before + 1);
    assert.equal(results.at(-1)?.ok, true);
  });
});
