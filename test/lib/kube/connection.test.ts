import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { localIdentities } from '../../../infra/local-stack/identities.ts';
import type { KubeApiServer } from '../../../infra/local-stack/kube/server.ts';
import { makeClusterCertificates } from '../../../infra/local-stack/kube/tls.ts';
import { fromDescribed } from '../../../lib/aws/eks-cluster-lookup.ts';
import type { TaskFailedError } from '../../../lib/errors.ts';
import { decodeCertificateAuthority, toEndpointOrigin } from '../../../lib/kube/cluster-target.ts';
import { makeKubeConnector } from '../../../lib/kube/connection.ts';
import { makeCountingTokens, makeFakeLookup, startServer } from './support/local-kube.ts';

const signal = () => AbortSignal.timeout(5000);

describe('decodeCertificateAuthority', () => {
  let caPem = '';
  before(async () => {
    caPem = (await makeClusterCertificates()).caPem;
  });

  test('accepts base64 of a PEM certificate, as DescribeCluster returns it', () => {
    const pem = decodeCertificateAuthority(Buffer.from(caPem).toString('base64'));
    assert.equal(
      new X509Certificate(pem).fingerprint256,
      new X509Certificate(caPem).fingerprint256,
    );
  });

  test('accepts base64 of a DER certificate and returns it as PEM', () => {
    const der = new X509Certificate(caPem).raw;
    const pem = decodeCertificateAuthority(der.toString('base64'));
    assert.match(pem, /^-----BEGIN CERTIFICATE-----\n/);
    assert.equal(
      new X509Certificate(pem).fingerprint256,
      new X509Certificate(caPem).fingerprint256,
    );
  });

  test('keeps every certificate of a PEM bundle', async () => {
    const other = (await makeClusterCertificates()).caPem;
    const pem = decodeCertificateAuthority(Buffer.from(`${caPem}${other}`).toString('base64'));
    assert.equal(pem.match(/BEGIN CERTIFICATE/g)?.length, 2);
  });

  test('refuses text that is not base64', () => {
    assert.throws(() => decodeCertificateAuthority('not base64!'), /not base64/);
  });

  test('refuses base64 that holds no certificate (the seed example placeholder)', () => {
    assert.throws(
      () => decodeCertificateAuthority('ANPAJ2UCCR6DPCEXAMPLE'),
      /neither a PEM nor a DER/,
    );
  });
});

describe('toEndpointOrigin', () => {
  test('normalises host case and the default port', () => {
    assert.deepEqual(toEndpointOrigin('https://ABC.gr7.us-east-1.EKS.amazonaws.com:443/'), {
      origin: 'https://abc.gr7.us-east-1.eks.amazonaws.com',
    });
  });
  test('refuses http, paths and credentials', () => {
    assert.ok('problem' in toEndpointOrigin('http://example.com'));
    assert.ok('problem' in toEndpointOrigin('https://example.com/api'));
    assert.ok('problem' in toEndpointOrigin('https://user:pw@example.com'));
  });
});

describe('makeKubeConnector trust', () => {
  let server: KubeApiServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());
  const serverCaPem = () => decodeCertificateAuthority(server.caData);

  const lookupFor = () =>
    makeFakeLookup({
      [server.clusterName]: fromDescribed(server.clusterName, server.endpoint, server.caData),
      elsewhere: fromDescribed('elsewhere', 'https://10.0.0.1', server.caData),
    });

  test('looks up endpoint and CA when the input omits them', async () => {
    const { lookup, calls } = lookupFor();
    const { tokens } = makeCountingTokens(localIdentities.admin);
    const connector = makeKubeConnector({ tokens, lookup });
    const client = await connector.connect({ clusterName: server.clusterName }, signal());
    assert.equal(client.endpoint, server.endpoint);
    assert.deepEqual(calls, [{ name: server.clusterName, refresh: false }]);
    const res = await client.request({ method: 'GET', path: '/version', signal: signal() });
    assert.equal(res.statusCode, 200);
    connector.close();
  });

  test('an endpoint EKS does not report for the cluster is refused before anything is sent', async () => {
    const { lookup, calls } = lookupFor();
    const { tokens, counts } = makeCountingTokens(localIdentities.admin);
    const connector = makeKubeConnector({ tokens, lookup });
    server.requests.reset();
    await assert.rejects(
      connector.connect(
        { clusterName: 'elsewhere', endpoint: server.endpoint, caPem: serverCaPem() },
        signal(),
      ),
      (error: TaskFailedError) => {
        assert.equal(error.errorName, 'EKS.EndpointNotTrusted');
        assert.deepEqual(error.failureCause, {
          Message: `it is not the endpoint EKS reports for the cluster. The token was not sent. Use the endpoint EKS reports for the cluster, omit Endpoint to look it up, or add it to the worker's allowed endpoints.`,
          ClusterName: 'elsewhere',
          Endpoint: server.endpoint,
          ReportedEndpoint: 'https://10.0.0.1',
        });
        return true;
      },
    );
    // The cached answer was re-checked once with EKS before refusing.
    assert.deepEqual(calls, [
      { name: 'elsewhere', refresh: false },
      { name: 'elsewhere', refresh: true },
    ]);
    assert.equal(counts.issued, 0);
    assert.equal(server.requests.total(), 0);
  });

  test('an endpoint for a cluster EKS does not know is refused', async () => {
    const { lookup } = lookupFor();
    const { tokens, counts } = makeCountingTokens(localIdentities.admin);
    const connector = makeKubeConnector({ tokens, lookup });
    await assert.rejects(
      connector.connect(
        { clusterName: 'unknown', endpoint: server.endpoint, caPem: serverCaPem() },
        signal(),
      ),
      { errorName: 'EKS.EndpointNotTrusted' },
    );
    assert.equal(counts.issued, 0);
  });

  test('an allow-listed endpoint is trusted without asking EKS', async () => {
    const { lookup, calls } = lookupFor();
    const { tokens } = makeCountingTokens(localIdentities.admin);
    const connector = makeKubeConnector({
      tokens,
      lookup,
      allowedEndpoints: [`${server.endpoint}/`],
    });
    const client = await connector.connect(
      { clusterName: server.clusterName, endpoint: server.endpoint, caPem: serverCaPem() },
      signal(),
    );
    assert.equal(client.endpoint, server.endpoint);
    assert.deepEqual(calls, []);
    connector.close();
  });

  test('the same coordinates share one client', async () => {
    const { lookup } = lookupFor();
    const { tokens } = makeCountingTokens(localIdentities.admin);
    const connector = makeKubeConnector({ tokens, lookup });
    const target = { clusterName: server.clusterName, endpoint: server.endpoint };
    const first = await connector.connect(target, signal());
    assert.equal(await connector.connect(target, signal()), first);
    connector.close();
  });
});
