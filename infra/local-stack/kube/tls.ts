/**
 * The cluster's certificate authority and the API server's serving certificate, made fresh at
 * every start (EC P-256). `caData` is the base64 of the CA PEM: exactly what EKS DescribeCluster
 * returns as `certificateAuthority.data` and what a kubeconfig's `certificate-authority-data` holds.
 */
// tsyringe (inside @peculiar/x509) needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface ClusterCertificates {
  caPem: string;
  /** base64 of `caPem`. */
  caData: string;
  serverCertPem: string;
  /** PKCS#8 PEM. */
  serverKeyPem: string;
}

const toPkcs8Pem = async (key: webcrypto.CryptoKey): Promise<string> => {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
};

const makeSerialNumber = (): string =>
  Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');

const makeKeyPair = async (): Promise<webcrypto.CryptoKeyPair> =>
  (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;

/** Makes a CA (`CN=kubernetes`, as EKS names it) and a serving cert for 127.0.0.1 / localhost. */
export async function makeClusterCertificates(
  options: { validityDays?: number } = {},
): Promise<ClusterCertificates> {
  const notBefore = new Date(Date.now() - 60 * 60 * 1000);
  const notAfter = new Date(Date.now() + (options.validityDays ?? 365) * 24 * 60 * 60 * 1000);
  const caKeys = await makeKeyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: makeSerialNumber(),
    name: 'CN=kubernetes',
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign |
          x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = await makeKeyPair();
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: makeSerialNumber(),
    subject: 'CN=kube-apiserver',
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    publicKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
        { type: 'dns', value: 'kubernetes' },
        { type: 'dns', value: 'kubernetes.default.svc' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  const caPem = ca.toString('pem');
  return {
    caPem,
    caData: Buffer.from(caPem, 'utf8').toString('base64'),
    serverCertPem: server.toString('pem'),
    serverKeyPem: await toPkcs8Pem(serverKeys.privateKey),
  };
}
