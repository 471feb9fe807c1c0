import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarize } from '../../bench/lib/measure.js';
import { comparedRows, peerGoal } from '../../bench/net/rows.js';

const goal = peerGoal('>= 1x A and >= 4x B', (sbmp, peer) => sbmp >= peer('a') && sbmp >= 4 * peer('b'));

describe('benchmark goals against peers', () => {
  it('is met only when the figure beats every named peer by its factor', () => {
    const peers = new Map([
      ['a', summarize([100])],
      ['b', summarize([25])],
    ]);
    assert.deepEqual(goal(summarize([100]), peers), { text: '>= 1x A and >= 4x B', met: true });
    assert.equal(goal(summarize([99]), peers)?.met, false);
    assert.equal(goal(summarize([100]), new Map([...peers, ['b', summarize([26])]]))?.met, false);
  });

  it('is missed when a peer it names was not measured', () => {
    assert.equal(goal(summarize([1e9]), new Map([['a', summarize([1])]]))?.met, false);
  });

  it('marks every SBMP row of the metric, once per peer', () => {
    const rows = comparedRows({ scenario: 's', metric: 'm', unit: 'u', better: 'higher', goal }, [
      { label: 'sbmp', sbmp: true, figure: summarize([120]) },
      { label: 'a', sbmp: false, figure: summarize([100]) },
      { label: 'b', sbmp: false, figure: summarize([20]) },
    ]);
    const marked = rows.filter((row) => row.goal !== undefined);
    assert.equal(marked.length, 2);
    assert.ok(marked.every((row) => row.subject === 'sbmp' && row.goal?.met === true));
  });
});
