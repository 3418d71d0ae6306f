/** Query parameters parsed as the API server's Go code parses them (and refused with its words). */
import { makeBadRequestError } from '../status.ts';

export const parseIntegerParam = (params: URLSearchParams, name: string): number | undefined => {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw)) {
    throw makeBadRequestError(`strconv.ParseInt: parsing "${raw}": invalid syntax`);
  }
  return Number(raw);
};

export const parseBooleanParam = (params: URLSearchParams, name: string): boolean | undefined => {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw makeBadRequestError(`strconv.ParseBool: parsing "${raw}": invalid syntax`);
};

/** `?watch=1` / `?watch=true` turns a GET into a watch. */
export const isWatchRequest = (params: URLSearchParams): boolean =>
  params.get('watch') === '1' || params.get('watch') === 'true';

/** `?dryRun=All`: the write is checked and answered but not stored. */
export const isDryRun = (params: URLSearchParams): boolean =>
  params.getAll('dryRun').includes('All');
