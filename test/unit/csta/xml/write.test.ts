import { describe, it, expect } from 'vitest';
import { isUaCstaError } from '../../../../src/errors.js';
import { escapeAttr, escapeText, isXmlText } from '../../../../src/csta/xml/write.js';
import { readXml } from '../../../../src/csta/xml/read.js';

function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isUaCstaError(e) ? e.code : 'not a UaCstaError';
  }
  return undefined;
}

function textRoundTrip(s: string): string | undefined {
  const r = readXml(`<a>${escapeText(s)}</a>`);
  return r.ok ? r.value.root.text : `failed: ${r.error.code}`;
}

function attrRoundTrip(s: string): string | undefined {
  const r = readXml(`<a v="${escapeAttr(s)}"/>`);
  return r.ok ? r.value.root.attrs[0]?.value : `failed: ${r.error.code}`;
}

describe('escapeText', () => {
  it('returns the very same string when nothing needs escaping', () => {
    const s = 'Müller € 0045 +4930123 "quoted" \'single\' tab\tline\n\u{1F600}';
    expect(escapeText(s)).toBe(s);
    expect(escapeText('')).toBe('');
  });

  it('escapes &, <, > and carriage return', () => {
    expect(escapeText('a&b<c>d]]>e\r\nf')).toBe('a&amp;b&lt;c&gt;d]]&gt;e&#xD;\nf');
  });

  it('leaves quotes, tab and line feed alone in text', () => {
    expect(escapeText('"\'\t\n')).toBe('"\'\t\n');
  });
});

describe('escapeAttr', () => {
  it('returns the very same string when nothing needs escaping', () => {
    const s = "dialingNumber Müller it's";
    expect(escapeAttr(s)).toBe(s);
  });

  it('escapes &, <, >, the double quote, tab, line feed and carriage return', () => {
    expect(escapeAttr('a&<>"\t\n\r')).toBe('a&amp;&lt;&gt;&quot;&#x9;&#xA;&#xD;');
  });
});

describe('round trip through readXml', () => {
  it.each([
    ['plain', 'Müller €'],
    ['markup characters', '<a href="x">&amp;</a> ]]>'],
    ['whitespace and line ends', ' lead\t\r\n\rtrail \n'],
    ['astral characters', '\u{1F600}\u{10FFFF}'],
    ['C1 controls, which XML 1.0 allows', '\u0085\u009f\u007f'],
  ])('gives back %s unchanged in text and attributes', (_, s) => {
    expect(textRoundTrip(s)).toBe(s);
    expect(attrRoundTrip(s)).toBe(s);
  });
});

describe('characters XML 1.0 cannot carry', () => {
  it.each([
    ['U+0000', 'a\u0000b'],
    ['a C0 control', '\u0001'],
    ['vertical tab', 'x\u000b'],
    ['a lone high surrogate', 'x\ud800'],
    ['a lone high surrogate before another', '\ud800\ud800\udc00'],
    ['a lone low surrogate', '\udc00x'],
    ['U+FFFE', '\ufffe'],
    ['U+FFFF', 'a&\uffff'],
  ])('throws CSTA_ERR_SERIALIZE for %s', (_, s) => {
    expect(thrownCode(() => escapeText(s))).toBe('CSTA_ERR_SERIALIZE');
    expect(thrownCode(() => escapeAttr(s))).toBe('CSTA_ERR_SERIALIZE');
    expect(isXmlText(s)).toBe(false);
  });

  it('says that text without such characters is fine', () => {
    expect(isXmlText('tab\tcr\rlf\n Müller \u{1F600} \ud7ff \ue000 \ufffd')).toBe(true);
    expect(isXmlText('')).toBe(true);
  });
});
