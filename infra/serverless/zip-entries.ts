/**
 * Reads the entries of a Lambda deployment zip (stored or deflated, no zip64), enough to measure
 * and unpack what serverless-esbuild produced without an unzip tool or another dependency.
 */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/** One file of the archive. */
export interface ZipEntry {
  readonly name: string;
  readonly compressedBytes: number;
  readonly data: Buffer;
}

const endOfCentralDirectory = 0x06054b50;
const centralFileHeader = 0x02014b50;
const localFileHeader = 0x04034b50;

/** Every file entry of the zip at `path` (directories skipped), decompressed. */
export const readZipEntries = (path: string): ZipEntry[] => {
  const zip = readFileSync(path);
  // The end record is the last 22 bytes plus an optional comment of up to 64 KiB.
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === endOfCentralDirectory) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Error(`${path}: not a zip archive`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== centralFileHeader) throw new Error(`${path}: bad central header`);
    const method = zip.readUInt16LE(at + 10);
    const compressedBytes = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localAt = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue;
    if (zip.readUInt32LE(localAt) !== localFileHeader) throw new Error(`${path}: bad local header`);
    const dataAt = localAt + 30 + zip.readUInt16LE(localAt + 26) + zip.readUInt16LE(localAt + 28);
    const raw = zip.subarray(dataAt, dataAt + compressedBytes);
    if (method !== 0 && method !== 8) throw new Error(`${path}: ${name} uses method ${method}`);
    entries.push({ name, compressedBytes, data: method === 8 ? inflateRawSync(raw) : raw });
  }
  return entries;
};
