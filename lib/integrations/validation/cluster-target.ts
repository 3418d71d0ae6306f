/**
 * The cluster a Kubernetes task names (contract §2, common parameters), read once from its input
 * with every problem collected: `ClusterName` (an EKS name), and the optional `Endpoint` (a bare
 * https origin) and `CertificateAuthority` (base64 PEM or DER). The connection trusts what this
 * returns and checks nothing again.
 */
import type { InputProblem } from '../../errors.ts';
import {
  type ClusterTarget,
  decodeCertificateAuthority,
  toEndpointOrigin,
} from '../../kube/cluster-target.ts';
import { findEksNameProblem } from './eks-names.ts';

/** The target, or `undefined` when a problem was pushed for one of its fields. */
export const readClusterTarget = (
  input: Readonly<Record<string, unknown>>,
  problems: InputProblem[],
): ClusterTarget | undefined => {
  const before = problems.length;
  const problem = (path: string, message: string) => problems.push({ path, message });
  const { ClusterName, Endpoint, CertificateAuthority } = input;

  if (ClusterName === undefined) problem('$.ClusterName', 'is required');
  else if (typeof ClusterName !== 'string' || ClusterName === '') {
    problem('$.ClusterName', 'must be a non-empty string');
  } else {
    const nameProblem = findEksNameProblem(ClusterName);
    if (nameProblem !== undefined) problem('$.ClusterName', nameProblem);
  }

  let endpoint: string | undefined;
  if (Endpoint !== undefined) {
    if (typeof Endpoint !== 'string') problem('$.Endpoint', 'must be a string');
    else {
      const parsed = toEndpointOrigin(Endpoint);
      if ('problem' in parsed) problem('$.Endpoint', parsed.problem);
      else endpoint = parsed.origin;
    }
  }

  let caPem: string | undefined;
  if (CertificateAuthority !== undefined) {
    if (typeof CertificateAuthority !== 'string') {
      problem('$.CertificateAuthority', 'must be a base64 string');
    } else {
      try {
        caPem = decodeCertificateAuthority(CertificateAuthority);
      } catch (error) {
        problem('$.CertificateAuthority', (error as Error).message);
      }
    }
  }

  if (problems.length > before) return undefined;
  return {
    clusterName: ClusterName as string,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(caPem === undefined ? {} : { caPem }),
  };
};
