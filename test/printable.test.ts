/** Sheet text in messages: escaped so it cannot forge lines or drive the terminal, and capped. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { characterCount, oneLine, printable, printableList } from '../src/printable.ts';
import { LookalikeGuard, foldKey } from '../src/sync/lookalikes.ts';

describe('printable', () => {
  it('escapes line breaks, terminal escapes, bidi overrides and lone surrogates', () => {
    expect(printable('a\nb\r\tc')).toBe('a\\nb\\r\\tc');
    expect(printable('\u001b[31mred\u001b[0m')).toBe('\\u{1b}[31mred\\u{1b}[0m');
    expect(printable('abc\u202edef')).toBe('abc\\u{202e}def');
    expect(printable('x\ud800y')).toBe('x\\u{d800}y');
    expect(printable('東京 🏠 ok')).toBe('東京 🏠 ok');
  });

  it('caps long text, saying how long it was, without scanning it all', () => {
    expect(printable('x'.repeat(100), 10)).toBe('xxxxxxxxxx… (100 characters)');
    expect(printable('🏠'.repeat(20), 3)).toBe('🏠🏠🏠… (20 characters)');
    expect(characterCount('a🏠b')).toBe(3);
  });

  it('never yields a line break or a control character, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 1, max: 80 }), (s, max) => {
        const p = printable(s, max);
        // eslint-disable-next-line no-control-regex
        expect(p).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
        expect(p.isWellFormed()).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('lists at most a few items, each quoted; oneLine folds a message onto one line', () => {
    expect(printableList(['a', 'b', 'c'], 2)).toBe('"a", "b" and 1 more');
    expect(oneLine('first\n  second\r\nthird')).toBe('first second third');
  });
});

describe('lookalike buyer numbers', () => {
  function run(keys: string[]) {
    const first = new Map<string, number>();
    const guard = new LookalikeGuard((k) => first.get(k) ?? null);
    return keys.map((k, i) => {
      const row = i + 2;
      const firstSeen = !first.has(k);
      if (firstSeen) first.set(k, row);
      return guard.check(k, row, firstSeen);
    });
  }

  it('full-width digits, composed and decomposed accents, ideographic spaces: the later spelling collides with the first', () => {
    expect(run(['123', '１２３'])).toEqual([null, { spelling: '123', row: 2 }]);
    expect(run(['１２３', '123'])).toEqual([null, { spelling: '１２３', row: 2 }]);
    expect(run(['Jos\u00e9', 'Jose\u0301'])).toEqual([null, { spelling: 'Jos\u00e9', row: 2 }]);
    expect(run(['B\u30007', 'B 7'])).toEqual([null, { spelling: 'B\u30007', row: 2 }]);
    expect(run(['ｂ１', 'ｂ1', 'b1'])).toEqual([null, { spelling: 'ｂ１', row: 2 }, { spelling: 'ｂ１', row: 2 }]);
    expect(run(['123', '123\u200b', '12\u200d3'])).toEqual([
      null,
      { spelling: '123', row: 2 },
      { spelling: '123', row: 2 },
    ]);
  });

  it('the same spelling again is not a lookalike (it is a plain duplicate), unless that spelling collided', () => {
    expect(run(['123', '123', '１２３', '１２３'])).toEqual([
      null,
      null,
      { spelling: '123', row: 2 },
      { spelling: '123', row: 2 },
    ]);
    expect(run(['A-1', 'a-1'])).toEqual([null, null]); // case is not normalization
  });

  it('ASCII numbers are their own normal form', () => {
    expect(foldKey('000123')).toBe('000123');
    expect(foldKey('１２３')).toBe('123');
  });
});
