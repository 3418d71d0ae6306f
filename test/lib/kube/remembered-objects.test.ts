import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RememberedObjects } from '../../../lib/kube/remembered-objects.ts';

interface Entry {
  event: { object: { metadata: { name: string; labels?: Record<string, string> } } };
  seq: number;
}
const entry = (name: string, seq: number, labels?: Record<string, string>): Entry => ({
  event: { object: { metadata: { name, ...(labels ? { labels } : {}) } } },
  seq,
});
const namesOf = (entries: Iterable<Entry>) => [...entries].map((e) => e.event.object.metadata.name);

describe('RememberedObjects', () => {
  test('finds by label only the objects that carry it, newest last', () => {
    const objects = new RememberedObjects<Entry>(10);
    objects.set('a', entry('a', 1, { 'job-name': 'one' }));
    objects.set('b', entry('b', 2, { 'job-name': 'two' }));
    objects.set('c', entry('c', 3, { 'job-name': 'one', tier: 'x' }));
    objects.set('a', entry('a', 4, { 'job-name': 'one' }));
    assert.deepEqual(namesOf(objects.withLabel('job-name', 'one')), ['c', 'a']);
    assert.deepEqual(namesOf(objects.withLabel('tier', 'x')), ['c']);
    assert.deepEqual(namesOf(objects.withLabel('job-name', 'three')), []);
  });

  test('a relabelled object leaves its old label; a deleted one leaves every index', () => {
    const objects = new RememberedObjects<Entry>(10);
    objects.set('a', entry('a', 1, { 'job-name': 'one' }));
    objects.set('a', entry('a', 2, { 'job-name': 'two' }));
    assert.deepEqual(namesOf(objects.withLabel('job-name', 'one')), []);
    assert.deepEqual(namesOf(objects.withLabel('job-name', 'two')), ['a']);
    objects.delete('a');
    assert.deepEqual(namesOf(objects.withLabel('job-name', 'two')), []);
    assert.equal(objects.size, 0);
  });

  test('past its capacity it forgets the object remembered longest ago, from the index too', () => {
    const objects = new RememberedObjects<Entry>(2);
    objects.set('a', entry('a', 1, { app: 'x' }));
    objects.set('b', entry('b', 2, { app: 'x' }));
    objects.set('a', entry('a', 3, { app: 'x' }));
    objects.set('c', entry('c', 4, { app: 'x' }));
    assert.deepEqual(namesOf(objects.values()), ['a', 'c']);
    assert.deepEqual(namesOf(objects.withLabel('app', 'x')), ['a', 'c']);
    assert.equal(objects.get('b'), undefined);
  });
});
