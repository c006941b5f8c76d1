import assert from 'node:assert/strict';
import { describe, it } from '../helpers/test.js';
import { startIdleTrim } from '../../src/core/idle-trim.js';
import { waitFor } from '../helpers/wait.js';

type Trimmed = { beforeBytes: number; afterBytes: number; ms: number };

/** Grows the old generation with objects that live through a few collections, then drops them. */
async function leaveOldGarbage(): Promise<void> {
  let kept: Array<{ n: number; s: string }> | undefined = [];
  for (let i = 0; i < 300_000; i++) kept.push({ n: i, s: `item ${i}` });
  // Surviving two scavenges promotes them.
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 200_000; i++) void { round, i };
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(kept.length, 300_000);
  kept = undefined;
}

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('idle trim', () => {
  it('collects once the event loop has been quiet, gives the heap back, and not again until the loop was busy', async (t) => {
    const trims: Trimmed[] = [];
    const trim = startIdleTrim({ checkEveryMs: 100, quietSamples: 3, quietUtilization: 0.1, minSlackBytes: 4 * 1024 * 1024, attempts: 1, trimmed: (r) => trims.push(r) });
    t.after(() => trim.stop());
    await leaveOldGarbage();
    await waitFor('a trim after the loop went quiet', () => trims.length === 1, 10_000);
    assert.ok(trims[0]!.afterBytes < trims[0]!.beforeBytes - 4 * 1024 * 1024, `the heap shrank by at least the slack (${trims[0]!.beforeBytes} → ${trims[0]!.afterBytes})`);

    // Quiet since: an idle fleet's pings do not pay for a collection every few seconds.
    await sleep(1000);
    assert.equal(trims.length, 1, 'no second trim without activity in between');

    await leaveOldGarbage();
    busyFor(200);
    await waitFor('a second trim after a busy moment', () => trims.length === 2, 10_000);
  });

  it('makes at most `attempts` collections in one quiet spell, then waits for the loop to be busy', async (t) => {
    const trims: Trimmed[] = [];
    const at: number[] = [];
    // No slack is too little here, so only the attempts bound it.
    const trim = startIdleTrim({ checkEveryMs: 100, quietSamples: 3, quietUtilization: 0.2, minSlackBytes: 0, attempts: 3, trimmed: (r) => (trims.push(r), at.push(performance.now())) });
    t.after(() => trim.stop());
    busyFor(150);
    await waitFor('three collections', () => trims.length === 3, 10_000);
    // Each attempt waits for a quiet spell of its own (V8 judges the allocation rate since the last one).
    assert.ok(at[1]! - at[0]! >= 250 && at[2]! - at[1]! >= 250, `attempts ${Math.round(at[1]! - at[0]!)} and ${Math.round(at[2]! - at[1]!)} ms apart`);
    await sleep(1000);
    assert.equal(trims.length, 3);
    busyFor(150);
    await waitFor('three more after a busy moment', () => trims.length === 6, 10_000);
  });

  it('leaves a heap alone that holds less unused space than minSlackBytes', async (t) => {
    const trims: Trimmed[] = [];
    const trim = startIdleTrim({ checkEveryMs: 50, quietSamples: 2, minSlackBytes: 4 * 1024 * 1024 * 1024, trimmed: (r) => trims.push(r) });
    t.after(() => trim.stop());
    await leaveOldGarbage();
    busyFor(100);
    await sleep(500);
    assert.equal(trims.length, 0);
  });
});
