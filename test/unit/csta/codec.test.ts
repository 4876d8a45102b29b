import { describe, it, expect } from 'vitest';
import { parseCsta, serializeCsta, type CstaMessage, type CstaParseResult } from '../../../src/csta/index.js';

const NS3 = 'http://www.ecma-international.org/standards/ecma-323/csta/ed3';
const ns = (ed: string): string => `http://www.ecma-international.org/standards/ecma-323/csta/${ed}`;

function value(r: CstaParseResult): CstaMessage {
  if (!r.ok) throw new Error(`expected a message, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}
function errorCode(r: CstaParseResult): string {
  if (r.ok) throw new Error(`expected an error, got ${r.value.type}`);
  return r.error.code;
}

describe('parseCsta: values are kept exactly', () => {
  it('keeps 0045, +4930123 and -12 as strings', () => {
    const m = value(
      parseCsta(
        `<MakeCall xmlns="${NS3}"><callingDevice>0045</callingDevice><calledDirectoryNumber>+4930123</calledDirectoryNumber></MakeCall>`,
      ),
    );
    expect(m).toEqual({ type: 'MakeCall', edition: 'ed3', callingDevice: '0045', calledDirectoryNumber: '+4930123' });
    const c = value(parseCsta(`<ClearConnection xmlns="${NS3}"><connectionToBeCleared><callID>-12</callID></connectionToBeCleared></ClearConnection>`));
    expect(c).toEqual({ type: 'ClearConnection', edition: 'ed3', connectionToBeCleared: { callID: '-12' } });
  });

  it('decodes numeric character references and the predefined entities', () => {
    const m = value(
      parseCsta(`<MakeCall xmlns="${NS3}"><callingDevice>A&amp;B &#x41;&#65;&#x20AC;</callingDevice><calledDirectoryNumber>1</calledDirectoryNumber></MakeCall>`),
    );
    expect(m).toMatchObject({ callingDevice: 'A&B AA€' });
  });

  it('round-trips a UTF-8 display name with umlauts and euro signs byte for byte', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?><MakeCall xmlns="${NS3}"><callingDevice>Müller €</callingDevice><calledDirectoryNumber>2002</calledDirectoryNumber></MakeCall>`;
    const bytes = new TextEncoder().encode(xml);
    const m = value(parseCsta(bytes));
    expect(m).toMatchObject({ callingDevice: 'Müller €' });
    expect(new TextEncoder().encode(serializeCsta(m))).toEqual(bytes);
  });

  it('reads an ISO-8859-1 declared body from bytes', () => {
    const head = `<?xml version="1.0" encoding="ISO-8859-1"?><MakeCall xmlns="${NS3}"><callingDevice>M`;
    const tail = `ller</callingDevice><calledDirectoryNumber>1</calledDirectoryNumber></MakeCall>`;
    const bytes = new Uint8Array([...new TextEncoder().encode(head), 0xfc, ...new TextEncoder().encode(tail)]);
    expect(value(parseCsta(bytes))).toMatchObject({ callingDevice: 'Müller' });
  });

  it('types integers, booleans and empty elements', () => {
    const m = value(
      parseCsta(
        `<SwitchingFunctionDevices xmlns="${NS3}"><serviceCrossRefID>9</serviceCrossRefID><segmentID>2</segmentID><lastSegment>true</lastSegment>` +
          `<deviceList><device><deviceID>sip:1001@pbx</deviceID></device><device><deviceID>sip:1002@pbx</deviceID></device></deviceList></SwitchingFunctionDevices>`,
      ),
    );
    expect(m).toEqual({
      type: 'SwitchingFunctionDevices',
      edition: 'ed3',
      serviceCrossRefID: '9',
      segmentID: 2,
      lastSegment: true,
      deviceList: [{ deviceID: 'sip:1001@pbx' }, { deviceID: 'sip:1002@pbx' }],
    });
  });

  it('reads the wrapped device identifiers of events as one-key objects', () => {
    const m = value(
      parseCsta(
        `<DeliveredEvent xmlns="${NS3}"><monitorCrossRefID>17</monitorCrossRefID><connection><callID>41</callID><deviceID>2002</deviceID></connection>` +
          `<alertingDevice><deviceIdentifier>2002</deviceIdentifier></alertingDevice><callingDevice><notKnown/></callingDevice>` +
          `<calledDevice><deviceIdentifier>2002</deviceIdentifier></calledDevice><lastRedirectionDevice><notRequired/></lastRedirectionDevice>` +
          `<localConnectionInfo>alerting</localConnectionInfo><cause>newCall</cause></DeliveredEvent>`,
      ),
    );
    expect(m).toEqual({
      type: 'DeliveredEvent',
      edition: 'ed3',
      monitorCrossRefID: '17',
      connection: { callID: '41', deviceID: '2002' },
      alertingDevice: { deviceIdentifier: '2002' },
      callingDevice: { notKnown: true },
      calledDevice: { deviceIdentifier: '2002' },
      lastRedirectionDevice: { notRequired: true },
      localConnectionInfo: 'alerting',
      cause: 'newCall',
    });
  });

  it('reads a CSTAErrorCode as its category and value', () => {
    expect(value(parseCsta(`<CSTAErrorCode xmlns="${NS3}"><operation>invalidCallID</operation></CSTAErrorCode>`))).toEqual({
      type: 'CSTAErrorCode',
      edition: 'ed3',
      operation: 'invalidCallID',
    });
    expect(value(parseCsta(`<CSTAErrorCode xmlns="${NS3}"><unspecified/></CSTAErrorCode>`))).toMatchObject({ unspecified: true });
  });

  it('keeps device attributes when present', () => {
    const m = value(
      parseCsta(`<MakeCall xmlns="${NS3}"><callingDevice typeOfNumber="deviceNumber">1001</callingDevice><calledDirectoryNumber>2</calledDirectoryNumber></MakeCall>`),
    );
    expect(m).toMatchObject({ callingDevice: { value: '1001', typeOfNumber: 'deviceNumber' } });
    expect(serializeCsta(m, { declaration: false })).toBe(
      `<MakeCall xmlns="${NS3}"><callingDevice typeOfNumber="deviceNumber">1001</callingDevice><calledDirectoryNumber>2</calledDirectoryNumber></MakeCall>`,
    );
  });
});

describe('parseCsta: editions and namespaces', () => {
  for (const ed of ['ed2', 'ed3', 'ed4', 'ed5', 'ed6']) {
    it(`reports ${ed} for the ${ed} namespace, default or prefixed`, () => {
      const plain = value(parseCsta(`<MonitorStop xmlns="${ns(ed)}"><monitorCrossRefID>1</monitorCrossRefID></MonitorStop>`));
      const prefixed = value(parseCsta(`<csta:MonitorStop xmlns:csta="${ns(ed)}"><csta:monitorCrossRefID>1</csta:monitorCrossRefID></csta:MonitorStop>`));
      expect(plain).toEqual({ type: 'MonitorStop', edition: ed, monitorCrossRefID: '1' });
      expect(prefixed).toEqual(plain);
    });
  }

  it('accepts the ecma.ch ed2 namespace and the Yealink misspelling, with a warning', () => {
    const y = parseCsta(
      `<MonitorStartResponse xmlns="http://www.ecmainternational.org/standards/ecma-323/csta/ed5"><monitorCrossRefID>1</monitorCrossRefID></MonitorStartResponse>`,
    );
    expect(value(y)).toMatchObject({ type: 'MonitorStartResponse', edition: 'ed5' });
    expect(y.ok && y.warnings.map((w) => w.code)).toEqual(['CSTA_WARN_NAMESPACE']);
    const old = parseCsta(`<MonitorStop xmlns="http://www.ecma.ch/standards/ecma-323/csta/ed2"><monitorCrossRefID>1</monitorCrossRefID></MonitorStop>`);
    expect(value(old)).toMatchObject({ edition: 'ed2' });
  });

  it('reads a document without a namespace by local name, with no edition', () => {
    expect(value(parseCsta(`<MonitorStop><monitorCrossRefID>1</monitorCrossRefID></MonitorStop>`))).toEqual({
      type: 'MonitorStop',
      monitorCrossRefID: '1',
    });
  });

  it('writes ed3 by default, the message edition, or the chosen one', () => {
    const m: CstaMessage = { type: 'MonitorStop', monitorCrossRefID: '1' };
    expect(serializeCsta(m)).toContain(`xmlns="${NS3}"`);
    expect(serializeCsta({ ...m, edition: 'ed5' })).toContain(`xmlns="${ns('ed5')}"`);
    expect(serializeCsta({ ...m, edition: 'ed5' }, { edition: 'ed4' })).toContain(`xmlns="${ns('ed4')}"`);
  });

  it('writes ringDuration from ed5 on and refuses it in ed3', () => {
    const m: CstaMessage = { type: 'SetForwarding', device: '1001', forwardingType: 'forwardNoAns', activateForward: true, ringCount: 3, ringDuration: 20 };
    expect(serializeCsta(m, { edition: 'ed5', declaration: false })).toBe(
      `<SetForwarding xmlns="${ns('ed5')}"><device>1001</device><forwardingType>forwardNoAns</forwardingType><activateForward>true</activateForward><ringCount>3</ringCount><ringDuration>20</ringDuration></SetForwarding>`,
    );
    expect(() => serializeCsta(m, { edition: 'ed3' })).toThrow(expect.objectContaining({ code: 'CSTA_ERR_SERIALIZE' }));
  });

  it('writes DeflectCall/newDestination as text up to ed4 and as a <device> list from ed5', () => {
    const m: CstaMessage = { type: 'DeflectCall', callToBeDiverted: { callID: '7', deviceID: '1001' }, newDestination: '3003' };
    expect(serializeCsta(m, { edition: 'ed3', declaration: false })).toContain('<newDestination>3003</newDestination>');
    const x5 = serializeCsta(m, { edition: 'ed5', declaration: false });
    expect(x5).toContain('<newDestination><device>3003</device></newDestination>');
    expect(value(parseCsta(x5))).toMatchObject({ newDestination: ['3003'] });
    expect(() => serializeCsta({ ...m, newDestination: ['1', '2'] }, { edition: 'ed3' })).toThrow(
      expect.objectContaining({ code: 'CSTA_ERR_SERIALIZE' }),
    );
  });

  it('reads SetLampMode/LampMode (ed3) and lampMode (ed6) into one field and writes each edition its own', () => {
    const ed3 = value(parseCsta(`<SetLampMode xmlns="${NS3}"><device>1</device><lamp>2</lamp><LampMode>2</LampMode></SetLampMode>`));
    const ed6 = value(parseCsta(`<SetLampMode xmlns="${ns('ed6')}"><device>1</device><lamp>2</lamp><lampMode>2</lampMode></SetLampMode>`));
    expect({ ...ed3, edition: 'ed6' }).toEqual(ed6);
    expect(serializeCsta(ed3)).toContain('<LampMode>');
    expect(serializeCsta(ed6)).toContain('<lampMode>');
  });

  it('refuses an element that exists only in ed6 when writing ed3', () => {
    const m = { type: 'GetMonitors', edition: 'ed3' } as unknown as CstaMessage;
    expect(() => serializeCsta(m)).toThrow(expect.objectContaining({ code: 'CSTA_ERR_SERIALIZE' }));
  });
});

describe('parseCsta: extensions, unknown content, unknown roots', () => {
  const LCS = '<lcs:line xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">tel:73124;phone-context=dialstring</lcs:line>';

  it("keeps Microsoft's lcs:line private data as raw XML and writes it back unchanged", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?><MakeCall xmlns="${NS3}"><callingDevice>tel:73124</callingDevice><calledDirectoryNumber>tel:+14255550100</calledDirectoryNumber><extensions><privateData><private>${LCS}</private></privateData></extensions></MakeCall>`;
    const m = value(parseCsta(xml));
    expect(m).toMatchObject({ extensions: { privateData: { private: LCS } } });
    expect(serializeCsta(m)).toBe(xml);
  });

  it('ignores and reports an unknown child element', () => {
    const r = parseCsta(`<MonitorStop xmlns="${NS3}"><monitorCrossRefID>1</monitorCrossRefID><vendorFlag>x</vendorFlag></MonitorStop>`);
    expect(value(r)).toEqual({ type: 'MonitorStop', edition: 'ed3', monitorCrossRefID: '1' });
    expect(r.ok && r.warnings).toEqual([
      expect.objectContaining({ code: 'CSTA_WARN_UNKNOWN_ELEMENT', path: '/MonitorStop/vendorFlag' }),
    ]);
  });

  it('keeps and reports an enumeration value the schema does not have (Yealink)', () => {
    const r = parseCsta(`<CSTAErrorCode xmlns="${NS3}"><operation>invalidConnectionIdentifier</operation></CSTAErrorCode>`);
    expect(value(r)).toMatchObject({ operation: 'invalidConnectionIdentifier' });
    expect(r.ok && r.warnings.map((w) => w.code)).toEqual(['CSTA_WARN_UNKNOWN_VALUE']);
  });

  it('returns an unknown root as a value, not an error', () => {
    const xml = `<FancyVendorThing xmlns="${NS3}"><a/></FancyVendorThing>`;
    expect(value(parseCsta(xml))).toEqual({ type: 'Unknown', edition: 'ed3', root: 'FancyVendorThing', xml });
  });

  it('returns a root in a foreign namespace as Unknown', () => {
    expect(value(parseCsta(`<MakeCall xmlns="urn:other"/>`))).toMatchObject({ type: 'Unknown', root: 'MakeCall' });
  });

  it('refuses a message without a mandatory child with CSTA_ERR_INVALID', () => {
    const r = parseCsta(`<MakeCall xmlns="${NS3}"><calledDirectoryNumber>2</calledDirectoryNumber></MakeCall>`);
    expect(errorCode(r)).toBe('CSTA_ERR_INVALID');
    expect(!r.ok && (r.error as { path?: string }).path).toBe('/MakeCall');
  });

  it('refuses a non-integer where the schema wants an integer', () => {
    const r = parseCsta(`<SwitchingFunctionDevices xmlns="${NS3}"><serviceCrossRefID>9</serviceCrossRefID><segmentID>two</segmentID><lastSegment>true</lastSegment><deviceList/></SwitchingFunctionDevices>`);
    expect(errorCode(r)).toBe('CSTA_ERR_INVALID');
  });

  it('accepts the callID as bare text of a connection (Yealink) with a warning', () => {
    const r = parseCsta(`<AnswerCall xmlns="${NS3}"><callToBeAnswered>41</callToBeAnswered></AnswerCall>`);
    expect(value(r)).toMatchObject({ callToBeAnswered: { callID: '41' } });
    expect(r.ok && r.warnings.map((w) => w.code)).toEqual(['CSTA_WARN_SHAPE']);
  });
});

describe('serializeCsta: refuses what does not fit the model', () => {
  const bad: [string, unknown][] = [
    ['an unknown field', { type: 'MonitorStop', monitorCrossRefID: '1', monitorCrossRefId: '2' }],
    ['a missing mandatory field', { type: 'MakeCall', callingDevice: '1001' }],
    ['a number where a string is expected', { type: 'MonitorStop', monitorCrossRefID: 17 }],
    ['two alternatives of a choice', { type: 'CSTAErrorCode', operation: 'generic', unspecified: true }],
    ['an empty ConnectionID', { type: 'ClearConnection', connectionToBeCleared: {} }],
    ['an unknown type', { type: 'NoSuchThing' }],
    ['a string with a NUL character', { type: 'MonitorStop', monitorCrossRefID: 'a\u0000b' }],
  ];
  for (const [what, m] of bad) {
    it(`throws CSTA_ERR_SERIALIZE for ${what}`, () => {
      expect(() => serializeCsta(m as CstaMessage)).toThrow(expect.objectContaining({ code: 'CSTA_ERR_SERIALIZE' }));
    });
  }

  it('writes children in schema order whatever the key order', () => {
    const m = { type: 'MakeCall', autoOriginate: 'doNotPrompt', calledDirectoryNumber: '2002', callingDevice: '1001' } as CstaMessage;
    expect(serializeCsta(m, { declaration: false })).toBe(
      `<MakeCall xmlns="${NS3}"><callingDevice>1001</callingDevice><calledDirectoryNumber>2002</calledDirectoryNumber><autoOriginate>doNotPrompt</autoOriginate></MakeCall>`,
    );
  });

  it('escapes markup characters so that the text survives a round trip', () => {
    const m = { type: 'MonitorStop', monitorCrossRefID: '<a&b>"\'\r\n' } as CstaMessage;
    expect(value(parseCsta(serializeCsta(m)))).toMatchObject({ monitorCrossRefID: '<a&b>"\'\r\n' });
  });
});

describe('raw private data stays well-formed', () => {
  it('re-declares a prefix that the root declared when it captures raw content', () => {
    const xml =
      `<MakeCall xmlns="${NS3}" xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">` +
      `<callingDevice>1</callingDevice><calledDirectoryNumber>2</calledDirectoryNumber>` +
      `<extensions><privateData><private><lcs:line>tel:1</lcs:line></private></privateData></extensions></MakeCall>`;
    const m = value(parseCsta(xml));
    expect(m).toMatchObject({
      extensions: { privateData: { private: '<lcs:line xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">tel:1</lcs:line>' } },
    });
    expect(value(parseCsta(serializeCsta(m)))).toEqual(m);
  });

  it('refuses raw content that would close its element or is not well-formed', () => {
    for (const raw of ['</private><MakeCall/>', '<a>', 'x<y', '<p:a/>']) {
      const m = { type: 'MakeCall', callingDevice: '1', calledDirectoryNumber: '2', extensions: { privateData: { private: raw } } } as CstaMessage;
      expect(() => serializeCsta(m), raw).toThrow(expect.objectContaining({ code: 'CSTA_ERR_SERIALIZE' }));
    }
  });
});
