/**
 * Maps `METHOD /path` to an EKS operation, by the `@http` traits of the EKS model. Node groups and
 * Fargate profiles have the same four routes under their cluster, so one table serves both.
 */
import type { ControlPlaneState } from './control-plane.ts';
import { invalidParameter } from './errors.ts';
import type { EksOperationName } from './faults.ts';
import type { JsonObject } from './input.ts';
import type { NamePage } from './pagination.ts';

export interface Route {
  operation: EksOperationName;
  run(state: ControlPlaneState, input: JsonObject, query: URLSearchParams): JsonObject;
}

/** The collections under `/clusters/<name>/`, with their members' names on the wire. */
const clusterChildren = {
  'node-groups': {
    family: 'nodegroups',
    member: 'nodegroup',
    listMember: 'nodegroups',
    create: 'CreateNodegroup',
    list: 'ListNodegroups',
    describe: 'DescribeNodegroup',
    delete: 'DeleteNodegroup',
  },
  'fargate-profiles': {
    family: 'fargateProfiles',
    member: 'fargateProfile',
    listMember: 'fargateProfileNames',
    create: 'CreateFargateProfile',
    list: 'ListFargateProfiles',
    describe: 'DescribeFargateProfile',
    delete: 'DeleteFargateProfile',
  },
} as const;

type ChildCollection = (typeof clusterChildren)[keyof typeof clusterChildren];

export function matchRoute(method: string, pathname: string): Route | undefined {
  const segments = pathname
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw invalidParameter(`The path segment ${s} is not valid percent-encoding.`);
      }
    });
  if (segments[0] !== 'clusters') return undefined;
  const [, clusterName = '', collection, name = ''] = segments;
  if (collection === undefined) return clusterRoute(`${method} ${segments.length}`, clusterName);
  if (!Object.hasOwn(clusterChildren, collection)) return undefined;
  const children = clusterChildren[collection as keyof typeof clusterChildren];
  return childRoute(`${method} ${segments.length}`, children, clusterName, name);
}

function clusterRoute(key: string, clusterName: string): Route | undefined {
  switch (key) {
    case 'POST 1':
      return {
        operation: 'CreateCluster',
        run: (s, input) => ({ cluster: s.createCluster(input) }),
      };
    case 'GET 1':
      return {
        operation: 'ListClusters',
        run: (s, _input, query) =>
          namePage('clusters', s.listClusters(readMaxResults(query), readNextToken(query))),
      };
    case 'GET 2':
      return {
        operation: 'DescribeCluster',
        run: (s) => ({ cluster: s.describeCluster(clusterName) }),
      };
    case 'DELETE 2':
      return {
        operation: 'DeleteCluster',
        run: (s) => ({ cluster: s.deleteCluster(clusterName) }),
      };
    default:
      return undefined;
  }
}

function childRoute(
  key: string,
  children: ChildCollection,
  clusterName: string,
  name: string,
): Route | undefined {
  const { family, member } = children;
  switch (key) {
    case 'POST 3':
      return {
        operation: children.create,
        run: (s, input) => ({ [member]: s[family].create(clusterName, input) }),
      };
    case 'GET 3':
      return {
        operation: children.list,
        run: (s, _input, query) =>
          namePage(
            children.listMember,
            s[family].list(clusterName, readMaxResults(query), readNextToken(query)),
          ),
      };
    case 'GET 4':
      return {
        operation: children.describe,
        run: (s) => ({ [member]: s[family].describe(clusterName, name) }),
      };
    case 'DELETE 4':
      return {
        operation: children.delete,
        run: (s) => ({ [member]: s[family].delete(clusterName, name) }),
      };
    default:
      return undefined;
  }
}

/** A List* answer: the names under their member, and `nextToken` only when there is more. */
const namePage = (listMember: string, page: NamePage): JsonObject => ({
  [listMember]: page.names,
  ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }),
});

const readNextToken = (query: URLSearchParams): string | undefined =>
  query.get('nextToken') ?? undefined;

function readMaxResults(query: URLSearchParams): number | undefined {
  const raw = query.get('maxResults');
  if (raw === null) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw invalidParameter('maxResults must be an integer.');
  return value;
}
