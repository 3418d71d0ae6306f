import { randomUUID } from 'node:crypto';
import type { SqsError } from './errors.ts';

/**
 * The AWS query protocol, which the AWS CLI v2.9 still speaks to SQS: form-encoded `Action=...`
 * requests with flattened lists (`AttributeName.1`, `MessageAttribute.1.Value.DataType`) and XML
 * answers. Requests are turned into the JSON 1.0 input shapes and answers back from the JSON
 * output shapes, so one set of operations serves both protocols.
 */

const xmlNamespace = 'http://queue.amazonaws.com/doc/2012-11-05/';

const integerMembers = new Set([
  'DelaySeconds',
  'MaxNumberOfMessages',
  'VisibilityTimeout',
  'WaitTimeSeconds',
  'MaxResults',
]);

/** Flattened query names -> JSON member names. */
const listRenames: Readonly<Record<string, string>> = {
  AttributeName: 'AttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
  SendMessageBatchRequestEntry: 'Entries',
  DeleteMessageBatchRequestEntry: 'Entries',
  ChangeMessageVisibilityBatchRequestEntry: 'Entries',
};
const mapRenames: Readonly<Record<string, { member: string; key: string }>> = {
  Attribute: { member: 'Attributes', key: 'Name' },
  MessageAttribute: { member: 'MessageAttributes', key: 'Name' },
  MessageSystemAttribute: { member: 'MessageSystemAttributes', key: 'Name' },
  Tag: { member: 'tags', key: 'Key' },
};

type Tree = { [key: string]: Tree | string };

/** `Action` and the JSON-shaped input of a form-encoded query request. */
export const parseQueryRequest = (
  params: URLSearchParams,
): { action: string; input: Record<string, unknown> } => {
  const tree: Tree = {};
  for (const [key, value] of params) {
    if (key === 'Action' || key === 'Version') continue;
    const path = key.split('.');
    let node = tree;
    for (const [index, segment] of path.entries()) {
      if (index === path.length - 1) node[segment] = value;
      else {
        let next = node[segment];
        if (typeof next !== 'object') {
          next = {};
          node[segment] = next;
        }
        node = next;
      }
    }
  }
  return {
    action: params.get('Action') ?? '',
    input: toJsonShape(tree) as Record<string, unknown>,
  };
};

const toJsonShape = (tree: Tree | string, name = ''): unknown => {
  if (typeof tree === 'string') return integerMembers.has(name) ? Number(tree) : tree;
  const keys = Object.keys(tree);
  if (keys.length > 0 && keys.every((key) => /^\d+$/.test(key))) {
    return keys
      .sort((a, b) => Number(a) - Number(b))
      .map((key) => toJsonShape(tree[key] as Tree | string, name));
  }
  const shaped: Record<string, unknown> = {};
  for (const key of keys) {
    const value = tree[key] as Tree | string;
    const map = mapRenames[key];
    if (map) {
      const items = toJsonShape(value, key) as Record<string, unknown>[];
      shaped[map.member] = Object.fromEntries(
        (Array.isArray(items) ? items : []).map((item) => [item[map.key], item.Value]),
      );
    } else {
      shaped[listRenames[key] ?? key] = toJsonShape(value, key);
    }
  }
  return shaped;
};

const escapeXml = (value: string): string =>
  value.replace(/[&<>"'\r]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Repeated (flattened) XML element names for JSON list and map members. */
const flattenedNames = (action: string): Readonly<Record<string, string>> => ({
  QueueUrls: 'QueueUrl',
  queueUrls: 'QueueUrl',
  Messages: 'Message',
  Successful: `${action}ResultEntry`,
  Failed: 'BatchResultErrorEntry',
});
const mapMembers: Readonly<Record<string, string>> = {
  Attributes: 'Attribute',
  MessageAttributes: 'MessageAttribute',
};

const toXml = (value: unknown, action: string): string => {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return escapeXml(String(value));
  let xml = '';
  for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
    const repeated = flattenedNames(action)[key];
    const mapElement = mapMembers[key];
    if (repeated && Array.isArray(member)) {
      for (const item of member) xml += `<${repeated}>${toXml(item, action)}</${repeated}>`;
    } else if (mapElement && member && typeof member === 'object') {
      for (const [name, item] of Object.entries(member)) {
        xml += `<${mapElement}><Name>${escapeXml(name)}</Name><Value>${toXml(item, action)}</Value></${mapElement}>`;
      }
    } else {
      xml += `<${key}>${toXml(member, action)}</${key}>`;
    }
  }
  return xml;
};

/** An operation's JSON output as the query protocol's XML document. */
export const toQueryResponse = (action: string, output: Record<string, unknown>): string =>
  `<?xml version="1.0"?><${action}Response xmlns="${xmlNamespace}"><${action}Result>${toXml(output, action)}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;

/** The query protocol's error document: the legacy code, which botocore raises as the error name. */
export const toQueryError = (error: SqsError): string =>
  `<?xml version="1.0"?><ErrorResponse xmlns="${xmlNamespace}"><Error><Type>${error.fault}</Type><Code>${escapeXml(error.queryCode)}</Code><Message>${escapeXml(error.message)}</Message><Detail/></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
