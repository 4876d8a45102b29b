import { describe, it, expect } from 'vitest';
import { CSTA_LIMITS } from '../../../../src/limits.js';
import { isUaCstaError } from '../../../../src/errors.js';
import {
  nsInScope,
  readXml,
  XML_NAMESPACE,
  type XmlDocument,
  type XmlElement,
} from '../../../../src/csta/xml/read.js';
import type { XmlReadError } from '../../../../src/csta/xml/read-error.js';

const ED3 = 'http://www.ecma-international.org/standards/ecma-323/csta/ed3';

function read(input: string | Uint8Array, limits?: Parameters<typeof readXml>[1]): XmlDocument {
  const r = readXml(input, limits);
  if (!r.ok) throw new Error(`expected success, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function fail(input: string | Uint8Array, limits?: Parameters<typeof readXml>[1]): XmlReadError {
  const r = readXml(input, limits);
  if (r.ok)
    throw new Error(
      `expected a failure for ${typeof input === 'string' ? JSON.stringify(input.slice(0, 80)) : 'bytes'}`,
    );
  return r.error;
}

function child(el: XmlElement, name: string): XmlElement {
  const c = el.children.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no child ${name}`);
  return c;
}

const DELIVERED = `<?xml version="1.0" encoding="UTF-8"?>
<DeliveredEvent xmlns="${ED3}">
  <monitorCrossRefID>0045</monitorCrossRefID>
  <connection><callID>-12</callID><deviceID>1001</deviceID></connection>
  <alertingDevice><deviceIdentifier typeOfNumber="dialingNumber">+4930123</deviceIdentifier></alertingDevice>
  <localConnectionInfo>alerting</localConnectionInfo>
  <cause>newCall</cause>
</DeliveredEvent>`;

describe('readXml: values', () => {
  it('keeps numeric-looking text as written: 0045, +4930123 and -12', () => {
    const { root } = read(DELIVERED);
    expect(child(root, 'monitorCrossRefID').text).toBe('0045');
    expect(child(child(root, 'connection'), 'callID').text).toBe('-12');
    const id = child(child(root, 'alertingDevice'), 'deviceIdentifier');
    expect(id.text).toBe('+4930123');
    expect(id.attrs).toEqual([
      { name: 'typeOfNumber', prefix: '', ns: undefined, value: 'dialingNumber' },
    ]);
  });

  it('decodes the predefined entities and character references in text', () => {
    expect(read('<a>A&amp;B &#x41;&#65;&#x20AC;</a>').root.text).toBe('A&B AA€');
    expect(read('<a>&lt;&gt;&quot;&apos;&#x1F600;&#0065;</a>').root.text).toBe(`<>"'\u{1F600}A`);
  });

  it('decodes references in attribute values and turns tab, LF and CR into spaces without collapsing', () => {
    const { root } = read('<a v="x&amp;y &lt;&#9;" w="1\t2\n3\r\n4\r5  6"/>');
    expect(root.attrs.map((a) => a.value)).toEqual(['x&y <\t', '1 2 3 4 5  6']);
  });

  it('normalises CRLF and CR to LF in character data and CDATA, but keeps the source as received', () => {
    const xml = '<a>1\r\n2\r3<![CDATA[4\r\n5]]></a>';
    const doc = read(xml);
    expect(doc.root.text).toBe('1\n2\n34\n5');
    expect(doc.source).toBe(xml);
  });

  it('concatenates text and CDATA directly inside an element and leaves out the children', () => {
    const { root } = read('<a> x <b>inner</b><![CDATA[<y>&amp;]]> z </a>');
    expect(root.text).toBe(' x <y>&amp; z ');
    expect(root.children.map((c) => c.text)).toEqual(['inner']);
  });

  it('gives an empty text and no children for an empty element', () => {
    const { root } = read('<a><b/><c></c></a>');
    expect(root.children.map((c) => [c.name, c.text, c.children.length])).toEqual([
      ['b', '', 0],
      ['c', '', 0],
    ]);
  });

  it('accepts > and ]] in text, and > and the other quote in attribute values', () => {
    const { root } = read(`<a x='say "hi" > 1' y="it's">1 > 0 ]] ok</a>`);
    expect(root.text).toBe('1 > 0 ]] ok');
    expect(root.attrs.map((a) => a.value)).toEqual(['say "hi" > 1', "it's"]);
  });

  it('skips comments, processing instructions and whitespace around the root', () => {
    const doc = read(
      '<?xml version="1.0"?>\n<!-- c --><?pi data?>\n<a><!-- x --><?p?>t</a>\n<!-- after --><?q ?>\n',
    );
    expect(doc.root.name).toBe('a');
    expect(doc.root.text).toBe('t');
  });

  it('accepts non-ASCII names and astral characters', () => {
    const { root } = read('<Grüße ñ="é"><日本>\u{1F600}</日本></Grüße>');
    expect(root.name).toBe('Grüße');
    expect(root.attrs[0]?.name).toBe('ñ');
    expect(root.children[0]?.text).toBe('\u{1F600}');
  });
});

describe('readXml: offsets and raw capture', () => {
  it('gives start, inner and end offsets of elements', () => {
    const xml = '<a><b x="1">t</b><c/></a>';
    const { root } = read(xml);
    expect([root.start, root.innerStart, root.innerEnd, root.end]).toEqual([0, 3, 21, 25]);
    const [b, c] = root.children;
    expect(b && [b.start, b.innerStart, b.innerEnd, b.end]).toEqual([3, 12, 13, 17]);
    expect(c && [c.start, c.innerStart, c.innerEnd, c.end]).toEqual([17, 21, 21, 21]);
    expect(xml.slice(c?.start, c?.end)).toBe('<c/>');
  });

  it('returns the exact inner XML of a <private> element from the source', () => {
    const inner = `\n  <v:x xmlns:v="urn:vendor" a='1'>A&amp;B<![CDATA[<raw>]]><!-- note --></v:x>\r\n  <y:z/>\n`;
    const xml = `<csta:E xmlns:csta="${ED3}" xmlns:y="urn:y"><csta:extensions><csta:privateData><csta:private>${inner}</csta:private></csta:privateData></csta:extensions></csta:E>`;
    const doc = read(new TextEncoder().encode(xml));
    const priv = doc.root.children[0]?.children[0]?.children[0];
    expect(priv?.name).toBe('private');
    expect(priv && doc.source.slice(priv.innerStart, priv.innerEnd)).toBe(inner);
  });

  it('reports the namespaces in scope for a captured fragment, nearest declaration first', () => {
    const xml = `<E xmlns="${ED3}" xmlns:y="urn:y1"><p xmlns:y="urn:y2" xmlns:z="urn:z"><private xmlns=""><y:q/></private></p></E>`;
    const doc = read(xml);
    const p = doc.root.children[0] as XmlElement;
    const priv = p.children[0] as XmlElement;
    expect(p.nsDecls).toEqual(
      new Map([
        ['y', 'urn:y2'],
        ['z', 'urn:z'],
      ]),
    );
    expect(priv.nsDecls).toEqual(new Map([['', '']]));
    expect(priv.ns).toBeUndefined();
    expect(nsInScope(doc, priv)).toEqual(
      new Map([
        ['y', 'urn:y2'],
        ['z', 'urn:z'],
      ]),
    );
    expect(nsInScope(doc, p)).toEqual(
      new Map([
        ['', ED3],
        ['y', 'urn:y2'],
        ['z', 'urn:z'],
      ]),
    );
    expect(nsInScope(doc, doc.root)).toEqual(
      new Map([
        ['', ED3],
        ['y', 'urn:y1'],
      ]),
    );
  });

  it('refuses nsInScope for an element of another document', () => {
    const a = read('<a><b/></a>');
    const b = read('<a><b/></a>');
    let thrown: unknown;
    try {
      nsInScope(a, b.root.children[0] as XmlElement);
    } catch (e) {
      thrown = e;
    }
    expect(isUaCstaError(thrown) && thrown.code).toBe('ERR_INVALID_ARG');
  });
});

describe('readXml: namespaces', () => {
  it('resolves a csta: prefixed document to the same namespace as a default-namespace one', () => {
    const plain = read(
      `<MakeCall xmlns="${ED3}"><callingDevice>1001</callingDevice></MakeCall>`,
    ).root;
    const prefixed = read(
      `<csta:MakeCall xmlns:csta="${ED3}"><csta:callingDevice>1001</csta:callingDevice></csta:MakeCall>`,
    ).root;
    const other = read(
      `<x:MakeCall xmlns:x="${ED3}"><x:callingDevice>1001</x:callingDevice></x:MakeCall>`,
    ).root;
    for (const root of [plain, prefixed, other]) {
      expect([root.name, root.ns, root.children[0]?.name, root.children[0]?.ns]).toEqual([
        'MakeCall',
        ED3,
        'callingDevice',
        ED3,
      ]);
    }
    expect([plain.prefix, prefixed.prefix, other.prefix]).toEqual(['', 'csta', 'x']);
  });

  it('leaves xmlns attributes out of attrs and resolves prefixed attributes', () => {
    const { root } = read('<a xmlns="urn:d" xmlns:p="urn:p" p:x="1" y="2" xml:lang="de"/>');
    expect(root.attrs).toEqual([
      { name: 'x', prefix: 'p', ns: 'urn:p', value: '1' },
      { name: 'y', prefix: '', ns: undefined, value: '2' },
      { name: 'lang', prefix: 'xml', ns: XML_NAMESPACE, value: 'de' },
    ]);
  });

  it('gives no namespace to an element without a declaration or under xmlns=""', () => {
    const { root } = read('<a><b xmlns="urn:b"><c xmlns=""/></b></a>');
    expect(root.ns).toBeUndefined();
    expect(root.children[0]?.ns).toBe('urn:b');
    expect(root.children[0]?.children[0]?.ns).toBeUndefined();
  });

  it('ends a declaration with the element that made it', () => {
    expect(fail('<a><b xmlns:p="urn:p"/><p:c/></a>').code).toBe('CSTA_ERR_PARSE');
  });

  it.each([
    ['an undeclared element prefix', '<p:a/>'],
    ['an undeclared attribute prefix', '<a p:x="1"/>'],
    ['an empty prefix declaration', '<a xmlns:p=""/>'],
    ['a declaration of the xmlns prefix', '<a xmlns:xmlns="urn:x"/>'],
    ['the xml prefix bound elsewhere', '<a xmlns:xml="urn:x"/>'],
    ['another prefix bound to the xml namespace', `<a xmlns:q="${XML_NAMESPACE}"/>`],
    [
      'two attributes with the same namespace and local name',
      '<a xmlns:p="urn:u" xmlns:q="urn:u" p:x="1" q:x="2"/>',
    ],
    ['an element with the xmlns prefix', '<xmlns:a/>'],
    ['a name with two colons', '<a:b:c xmlns:a="urn:a"/>'],
    ['a name ending with a colon', '<a: xmlns:a="urn:a"/>'],
  ])('rejects %s', (_, xml) => {
    expect(fail(xml).code).toBe('CSTA_ERR_PARSE');
  });
});

describe('readXml: well-formedness', () => {
  it('rejects a mismatched end tag and names both tags', () => {
    const e = fail('<a><b></a>');
    expect(e.code).toBe('CSTA_ERR_PARSE');
    expect(e.offset).toBe(6);
  });

  it('rejects every proper prefix of a valid document', () => {
    const xml = `<?xml version="1.0"?><!-- c --><csta:E xmlns:csta="${ED3}" a="1&amp;"><b>t&#65;<![CDATA[x]]></b><c/><?pi x?></csta:E>`;
    expect(readXml(xml).ok).toBe(true);
    for (let k = 0; k < xml.length; k++) {
      const r = readXml(xml.slice(0, k));
      expect(r.ok, `prefix of length ${k}`).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('CSTA_ERR_PARSE');
    }
  });

  it.each([
    ['two roots', '<a/><b/>'],
    ['a second root after a closed root', '<a></a><a></a>'],
    ['text before the root', 'x<a/>'],
    ['text after the root', '<a/>x'],
    ['an empty document', ''],
    ['only whitespace and a comment', ' <!-- c --> '],
    ['an unclosed element', '<a><b></b>'],
    ['an end tag without a start tag', '</a>'],
    ['an end tag after the root', '<a/></a>'],
    ['a duplicate attribute', '<a x="1" x="2"/>'],
    ['an attribute without quotes', '<a x=1/>'],
    ['an attribute without a value', '<a x/>'],
    ['an attribute with = but no value', '<a x=/>'],
    ['attributes without whitespace between them', '<a x="1"y="2"/>'],
    ['an unterminated attribute value', '<a x="1/>'],
    ['< in an attribute value', '<a x="<"/>'],
    ['an unknown entity', '<a>&nbsp;</a>'],
    ['an unknown entity in an attribute', '<a x="&foo;"/>'],
    ['a bare ampersand', '<a>a & b</a>'],
    ['a reference without a semicolon', '<a>&amp</a>'],
    ['an empty character reference', '<a>&#;</a>'],
    ['a character reference to U+0000', '<a>&#0;</a>'],
    ['a character reference to a surrogate', '<a>&#xD800;</a>'],
    ['a character reference above U+10FFFF', '<a>&#x110000;</a>'],
    ['a huge character reference', '<a>&#99999999999999999999999;</a>'],
    ['a character reference to a control character', '<a>&#x1;</a>'],
    ['a character reference to U+FFFE', '<a>&#xFFFE;</a>'],
    ['a raw control character in text', '<a>\u0001</a>'],
    ['a raw control character in an attribute', '<a x="\u001f"/>'],
    ['a raw NUL before the root', '\u0000<a/>'],
    ['a lone surrogate in text', '<a>\ud800</a>'],
    ['a lone low surrogate in text', '<a>\udc00x</a>'],
    ['U+FFFF in text', '<a>\uffff</a>'],
    [']]> in text', '<a>]]></a>'],
    ['-- inside a comment', '<a><!-- a -- b --></a>'],
    ['a comment ending in --->', '<a><!-- a ---></a>'],
    ['an XML declaration not at the start', ' <?xml version="1.0"?><a/>'],
    ['a second XML declaration', '<?xml version="1.0"?><?xml version="1.0"?><a/>'],
    ['an XML declaration inside the root', '<a><?xml version="1.0"?></a>'],
    ['an XML declaration without version', '<?xml encoding="UTF-8"?><a/>'],
    ['an XML declaration with a bad version', '<?xml version="2.0"?><a/>'],
    [
      'an XML declaration with pseudo-attributes out of order',
      '<?xml version="1.0" standalone="yes" encoding="UTF-8"?><a/>',
    ],
    ['a bad standalone value', '<?xml version="1.0" standalone="maybe"?><a/>'],
    ['a processing instruction target with a colon', '<a><?p:q x?></a>'],
    ['a processing instruction without a target', '<a><? x?></a>'],
    ['CDATA outside the root', '<![CDATA[x]]><a/>'],
    ['an unknown <! construct', '<a><!foo></a>'],
    ['a name starting with a digit', '<1a/>'],
    ['a space after <', '< a/>'],
    ['a space in an end tag before the name', '<a></ a>'],
    ['an attribute in an end tag', '<a></a x="1">'],
    ['a longer end tag name', '<a></ab>'],
    ['a shorter end tag name', '<ab></a>'],
    ['a / not followed by >', '<a / >'],
    ['an unterminated comment', '<a><!-- x </a>'],
    ['an unterminated CDATA section', '<a><![CDATA[ x </a>'],
    ['an unterminated processing instruction', '<a><?p x </a>'],
  ])('rejects %s with CSTA_ERR_PARSE', (_, xml) => {
    const e = fail(xml);
    expect(e.code).toBe('CSTA_ERR_PARSE');
    expect(e.offset).toBeGreaterThanOrEqual(0);
    expect(e.offset).toBeLessThanOrEqual(xml.length);
  });

  it('accepts whitespace where XML allows it', () => {
    const { root } = read('<a  x = "1"\n\ty=\'2\' ></a\n>');
    expect(root.attrs.map((a) => a.value)).toEqual(['1', '2']);
  });

  it('accepts a full XML declaration and a leading byte order mark in a string', () => {
    expect(
      read('\ufeff<?xml version="1.0" encoding="utf-8" standalone="yes" ?><a/>').root.name,
    ).toBe('a');
  });
});

describe('readXml: DOCTYPE and entities', () => {
  it('rejects a billion-laughs DOCTYPE without expanding anything', () => {
    const lol = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol9;</lolz>`;
    const e = fail(lol);
    expect(e.code).toBe('CSTA_ERR_DOCTYPE');
    expect(e.offset).toBe(lol.indexOf('<!DOCTYPE'));
  });

  it('rejects an external entity declaration', () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>';
    expect(fail(xxe).code).toBe('CSTA_ERR_DOCTYPE');
  });

  it('rejects an entity declaration and a lower-case doctype inside the root', () => {
    expect(fail('<a><!ENTITY x "y"></a>').code).toBe('CSTA_ERR_DOCTYPE');
    expect(fail('<!doctype a><a/>').code).toBe('CSTA_ERR_DOCTYPE');
  });
});

describe('readXml: encodings', () => {
  it('reads UTF-8 bytes and round-trips Müller €', () => {
    const bytes = new TextEncoder().encode(
      '<?xml version="1.0" encoding="UTF-8"?><n a="Müller €">Müller €</n>',
    );
    const { root } = read(bytes);
    expect(root.text).toBe('Müller €');
    expect(root.attrs[0]?.value).toBe('Müller €');
  });

  it('skips a UTF-8 byte order mark in bytes', () => {
    const body = new TextEncoder().encode('<a>ü</a>');
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...body]);
    const doc = read(bytes);
    expect(doc.root.text).toBe('ü');
    expect(doc.source).toBe('<a>ü</a>');
  });

  it('rejects invalid UTF-8 with CSTA_ERR_ENCODING and the byte offset', () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('<a>ab'),
      0xff,
      ...new TextEncoder().encode('</a>'),
    ]);
    const e = fail(bytes);
    expect(e.code).toBe('CSTA_ERR_ENCODING');
    expect(e.offset).toBe(5);
    for (const bad of [
      [0xc3],
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
    ]) {
      expect(fail(new Uint8Array([0x3c, 0x61, 0x3e, ...bad, 0x3c, 0x2f, 0x61, 0x3e])).code).toBe(
        'CSTA_ERR_ENCODING',
      );
    }
  });

  it('decodes bytes declared ISO-8859-1 as Latin-1', () => {
    const head = new TextEncoder().encode('<?xml version="1.0" encoding="ISO-8859-1"?><n>M');
    const tail = new TextEncoder().encode('ller</n>');
    const { root } = read(new Uint8Array([...head, 0xfc, ...tail]));
    expect(root.text).toBe('Müller');
    for (const label of ['iso-8859-1', 'latin1', 'ISO8859-1', 'Latin-1']) {
      const b = new TextEncoder().encode(`<?xml version='1.0' encoding='${label}'?><n>`);
      expect(read(new Uint8Array([...b, 0xe9, 0x3c, 0x2f, 0x6e, 0x3e])).root.text).toBe('é');
    }
  });

  it('rejects other declared encodings for bytes, and ISO-8859-1 after a UTF-8 byte order mark', () => {
    expect(
      fail(new TextEncoder().encode('<?xml version="1.0" encoding="Shift_JIS"?><a/>')).code,
    ).toBe('CSTA_ERR_ENCODING');
    expect(fail(new TextEncoder().encode('<?xml version="1.0" encoding="UTF-16"?><a/>')).code).toBe(
      'CSTA_ERR_ENCODING',
    );
    const latinAfterBom = new TextEncoder().encode(
      '\ufeff<?xml version="1.0" encoding="ISO-8859-1"?><a/>',
    );
    expect(fail(latinAfterBom).code).toBe('CSTA_ERR_ENCODING');
  });

  it('takes a string as already decoded, whatever encoding it declares', () => {
    expect(read('<?xml version="1.0" encoding="ISO-8859-1"?><a>ü</a>').root.text).toBe('ü');
  });
});

describe('readXml: limits', () => {
  it('rejects a 10 MB body by its size before reading it', () => {
    const big = new Uint8Array(10 * 1024 * 1024).fill(0x20);
    const t0 = performance.now();
    const e = fail(big);
    expect(performance.now() - t0).toBeLessThan(50);
    expect([e.code, e.limit, e.limitValue]).toEqual([
      'CSTA_ERR_LIMIT',
      'maxXmlBytes',
      CSTA_LIMITS.maxXmlBytes,
    ]);
    const s = `<a>${'x'.repeat(10 * 1024 * 1024)}</a>`;
    const e2 = fail(s);
    expect([e2.code, e2.limit]).toEqual(['CSTA_ERR_LIMIT', 'maxXmlBytes']);
  });

  it('counts UTF-8 bytes, not UTF-16 units, for a string body', () => {
    const text = 'ü'.repeat(40_000); // 40,000 units, 80,000 bytes
    expect(fail(`<a>${text}</a>`).limit).toBe('maxXmlBytes');
    expect(read(`<a>${text}</a>`, { maxXmlBytes: 80_007 }).root.text).toBe(text);
    expect(fail(`<a>${text}</a>`, { maxXmlBytes: 80_006 }).limit).toBe('maxXmlBytes');
  });

  it('rejects 10,000 nested elements at the depth limit without deep recursion', () => {
    const deep = '<a>'.repeat(10_000) + '</a>'.repeat(10_000);
    const e = fail(deep, { maxXmlBytes: Infinity });
    expect([e.code, e.limit, e.limitValue]).toEqual([
      'CSTA_ERR_LIMIT',
      'maxXmlDepth',
      CSTA_LIMITS.maxXmlDepth,
    ]);
    expect(e.offset).toBe(3 * CSTA_LIMITS.maxXmlDepth);
  });

  it('reads 10,000 nested elements when every limit is lifted (explicit stack, no recursion)', () => {
    const deep = '<a>'.repeat(10_000) + 'x' + '</a>'.repeat(10_000);
    const doc = read(deep, {
      maxXmlBytes: Infinity,
      maxXmlDepth: Infinity,
      maxXmlElements: Infinity,
    });
    let el: XmlElement = doc.root;
    let depth = 1;
    while (el.children[0] !== undefined) {
      el = el.children[0];
      depth++;
    }
    expect([depth, el.text]).toEqual([10_000, 'x']);
    expect(nsInScope(doc, el).size).toBe(0);
  });

  it('accepts exactly maxXmlDepth levels', () => {
    const n = CSTA_LIMITS.maxXmlDepth;
    expect(readXml('<a>'.repeat(n) + '</a>'.repeat(n)).ok).toBe(true);
    expect(fail('<a>'.repeat(n) + '<b/>' + '</a>'.repeat(n)).limit).toBe('maxXmlDepth');
  });

  it('rejects 5,000 sibling elements at the element limit', () => {
    const many = `<a>${'<b/>'.repeat(5_000)}</a>`;
    const e = fail(many);
    expect([e.code, e.limit, e.limitValue]).toEqual([
      'CSTA_ERR_LIMIT',
      'maxXmlElements',
      CSTA_LIMITS.maxXmlElements,
    ]);
    expect(e.offset).toBe(3 + 4 * (CSTA_LIMITS.maxXmlElements - 1));
    expect(readXml(`<a>${'<b/>'.repeat(CSTA_LIMITS.maxXmlElements - 1)}</a>`).ok).toBe(true);
  });

  it('rejects more attributes on one element than maxXmlAttributes, counting xmlns declarations', () => {
    const attrs = (k: number) => Array.from({ length: k }, (_, i) => ` a${i}="${i}"`).join('');
    expect(readXml(`<e${attrs(CSTA_LIMITS.maxXmlAttributes)}/>`).ok).toBe(true);
    const e = fail(`<e${attrs(CSTA_LIMITS.maxXmlAttributes + 1)}/>`);
    expect([e.code, e.limit]).toEqual(['CSTA_ERR_LIMIT', 'maxXmlAttributes']);
    expect(fail(`<e xmlns="urn:x"${attrs(CSTA_LIMITS.maxXmlAttributes)}/>`).limit).toBe(
      'maxXmlAttributes',
    );
  });

  it('finds a duplicate among many attributes when the attribute limit is lifted', () => {
    const attrs = Array.from({ length: 100 }, (_, i) => ` a${i}="${i}"`).join('');
    expect(readXml(`<e${attrs}/>`, { maxXmlAttributes: Infinity }).ok).toBe(true);
    expect(fail(`<e${attrs} a57="x"/>`, { maxXmlAttributes: Infinity }).code).toBe(
      'CSTA_ERR_PARSE',
    );
  });

  it('throws ERR_INVALID_ARG for a limit that is not a non-negative integer or Infinity', () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      let thrown: unknown;
      try {
        readXml('<a/>', { maxXmlDepth: bad });
      } catch (e) {
        thrown = e;
      }
      expect(isUaCstaError(thrown) && thrown.code).toBe('ERR_INVALID_ARG');
    }
  });

  it('does work linear in the input size on adversarial inputs', () => {
    const makers: ((k: number) => string)[] = [
      (k) => `<a x="${'&amp;'.repeat(k)}"/>`,
      (k) => `<a>${']'.repeat(k)}</a>`,
      (k) => `<a>${'&#x0000000000041;'.repeat(k)}</a>`,
      (k) => `<a><!--${'-x'.repeat(k)}--></a>`,
      (k) => `<a>${'<b></b>'.repeat(k)}</a>`,
      (k) => `<a>${'x<b/>'.repeat(k)}</a>`,
      (k) => `<a${' '.repeat(k)}/>`,
      (k) => `<a${Array.from({ length: k / 8 }, (_, i) => ` a${i}=""`).join('')}/>`,
      (k) => '<a>'.repeat(k / 8) + '</a>'.repeat(k / 8),
      (k) => `<a>${'\r\n'.repeat(k)}</a>`,
    ];
    const lifted = {
      maxXmlBytes: Infinity,
      maxXmlDepth: Infinity,
      maxXmlElements: Infinity,
      maxXmlAttributes: Infinity,
    };
    const best = (xml: string): number => {
      let fastest = Infinity;
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        expect(readXml(xml, lifted).ok).toBe(true);
        fastest = Math.min(fastest, performance.now() - t0);
      }
      return fastest;
    };
    for (const make of makers) {
      best(make(2_000)); // warm the JIT up
      const small = best(make(4_000));
      const large = best(make(64_000));
      // 16x the input: linear work takes about 16x the time, quadratic 256x; the wide margin
      // between them keeps the verdict out of reach of a loaded machine's noise
      expect(large).toBeLessThan(small * 64 + 5);
    }
  });
});

describe('readXml: errors', () => {
  it('returns errors that are UaCstaErrors with an offset and a message naming expected and found', () => {
    const e = fail('<a><b></a>');
    expect(isUaCstaError(e)).toBe(true);
    expect(e.name).toBe('XmlReadError');
    expect(e.limit).toBeUndefined();
    expect(e.message).toContain('</b>');
    expect(e.message).toContain('</a>');
  });
});
