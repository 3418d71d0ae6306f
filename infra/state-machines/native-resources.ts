/**
 * The drop-in mapping (contract §1): which activity serves a native `arn:aws:states:::eks:<api>`
 * resource. Used to rewrite state machines and by the README's migration table. Infrastructure
 * and test tooling only: the worker itself never sees a native resource.
 */
import { activitySuffixes } from '../../lib/integrations/activity-suffixes.ts';

const nativeResourcePattern = /^arn:aws[a-z-]*:states:::eks:([A-Za-z]+)(\.sync)?$/;

/** Every activity suffix the worker serves (the worker's list, `activity-suffixes.json`). */
export const allActivitySuffixes: readonly string[] = activitySuffixes;

/**
 * `arn:aws:states:::eks:runJob.sync` -> `eks-runJob-sync`; undefined for anything else (including
 * `eks:call.sync`, which does not exist natively, so no activity serves it).
 */
export const activitySuffixForNativeResource = (resource: string): string | undefined => {
  const match = nativeResourcePattern.exec(resource);
  if (!match) return undefined;
  const suffix = `eks-${match[1]}${match[2] ? '-sync' : ''}`;
  return allActivitySuffixes.includes(suffix) ? suffix : undefined;
};

/** A state machine definition, as far as the rewrite needs to see it. */
interface StatesContainer {
  States?: Record<string, { Type?: string; Resource?: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

type State = StatesContainer['States'] extends Record<string, infer S> | undefined ? S : never;

/**
 * Returns a copy of an Amazon States Language definition with `change` applied to every state,
 * walking into Parallel branches and Map iterators/processors (`change` sees each state before its
 * nested states are rewritten, and returns the replacement).
 */
export const mapStates = <T extends StatesContainer>(
  definition: T,
  change: (state: State) => State,
): T => {
  const rewrite = (container: StatesContainer): StatesContainer => {
    const states = Object.fromEntries(
      Object.entries(container.States ?? {}).map(([name, state]) => {
        const next: Record<string, unknown> = { ...change(state) };
        if (Array.isArray(state.Branches)) {
          next.Branches = state.Branches.map((branch: StatesContainer) => rewrite(branch));
        }
        for (const key of ['Iterator', 'ItemProcessor'] as const) {
          const inner = state[key] as StatesContainer | undefined;
          if (inner && typeof inner === 'object') next[key] = rewrite(inner);
        }
        return [name, next as State];
      }),
    );
    return { ...container, States: states };
  };
  return rewrite(definition) as T;
};

/**
 * Returns a copy of a definition whose native EKS Task resources point at activities instead
 * (`activityArnFor(suffix)`). Everything else (Parameters, ResultPath, Retry, Catch, ...) is kept.
 */
export const toActivityDefinition = <T extends StatesContainer>(
  definition: T,
  activityArnFor: (activitySuffix: string) => string,
): T =>
  mapStates(definition, (state) => {
    const suffix =
      state.Type === 'Task' && typeof state.Resource === 'string'
        ? activitySuffixForNativeResource(state.Resource)
        : undefined;
    return suffix ? { ...state, Resource: activityArnFor(suffix) } : state;
  });
