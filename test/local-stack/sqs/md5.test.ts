import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { md5Hex, md5OfMessageAttributes } from '../../../infra/local-stack/sqs/md5.ts';

// Amazon's published samples for the message attribute digest.
describe('local SQS: message digests', () => {
  test('the attribute digest of two string attributes matches the Amazon sample, in name order', () => {
    const digest = md5OfMessageAttributes({
      test_attribute_name_2: { DataType: 'String', StringValue: 'test_attribute_value_2' },
      test_attribute_name_1: { DataType: 'String', StringValue: 'test_attribute_value_1' },
    });
    assert.equal(digest, 'd53f3b558fe951154770f25cb63dbba9');
  });

  test('the attribute digest of a binary attribute matches the Amazon sample', () => {
    const digest = md5OfMessageAttributes({
      test_attribute_name: {
        DataType: 'Binary',
        BinaryValue: Buffer.from('test_attribute_value', 'utf8'),
      },
    });
    assert.equal(digest, '23f6bd27ea87aab7dfeadcc9aebee495');
  });

  test('no attributes have no digest', () => {
    assert.equal(md5OfMessageAttributes({}), undefined);
  });

  test('the body digest is the hex MD5 of the UTF-8 body', () => {
    assert.equal(md5Hex('hello'), '5d41402abc4b2a76b9719d911017c592');
  });
});
