import { createHash } from 'node:crypto';

/** A message attribute as stored: binary values as bytes, whatever protocol carried them. */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Uint8Array;
}

export const md5Hex = (data: string | Uint8Array): string =>
  createHash('md5').update(data).digest('hex');

/**
 * SQS's digest of message attributes, which the SDKs recompute and compare: for each attribute in
 * name order, the name, the data type, a transport byte (1 string/number, 2 binary) and the value,
 * every string and value prefixed with its 4-byte big-endian length.
 */
export const md5OfMessageAttributes = (
  attributes: Readonly<Record<string, MessageAttributeValue>>,
): string | undefined => {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const pushLengthPrefixed = (bytes: Uint8Array): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, Buffer.from(bytes));
  };
  for (const name of names) {
    const value = attributes[name] as MessageAttributeValue;
    pushLengthPrefixed(Buffer.from(name, 'utf8'));
    pushLengthPrefixed(Buffer.from(value.DataType, 'utf8'));
    if (value.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      pushLengthPrefixed(value.BinaryValue);
    } else {
      parts.push(Buffer.from([1]));
      pushLengthPrefixed(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return md5Hex(Buffer.concat(parts));
};
