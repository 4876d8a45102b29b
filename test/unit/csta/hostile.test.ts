import { describe, it, expect } from 'vitest';
import { parseCsta, type CstaParseResult } from '../../../src/csta/index.js';

const NS3 = 'http://www.ecma-international.org/standards/ecma-323/csta/ed3';

function errorCode(r: CstaParseResult): string {
  if (r.ok) throw new Error(`expected an error, got ${r.value.type}`);
  return r.error.code;
}

const billionLaughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><MonitorStop xmlns="${NS3}"><monitorCrossRefID>&lol2;</monitorCrossRefID></MonitorStop>`;
const externalEntity = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><MonitorStop xmlns="${NS3}"><monitorCrossRefID>&xxe;</monitorCrossRefID></MonitorStop>`;

describe('parseCsta on hostile input: an error value with its code, never an exception', () => {
  it('refuses billion laughs with CSTA_ERR_DOCTYPE', () => {
    expect(errorCode(parseCsta(billionLaughs))).toBe('CSTA_ERR_DOCTYPE');
  });

  it('refuses an enumerated element with no value (found by test:fuzz): it could not be written back', () => {
    const r = parseCsta(
      `<AgentBusyEvent xmlns="${NS3}"><monitorCrossRefID>7</monitorCrossRefID><agentDevice><notKnown/></agentDevice><pendingAgentState/></AgentBusyEvent>`,
    );
    expect(errorCode(r)).toBe('CSTA_ERR_INVALID');
    expect(!r.ok && r.error.message).toBe(
      '/AgentBusyEvent/pendingAgentState: <pendingAgentState> is empty; a PendingAgentState value is expected',
    );
  });

  it('refuses an external entity with CSTA_ERR_DOCTYPE', () => {
    expect(errorCode(parseCsta(externalEntity))).toBe('CSTA_ERR_DOCTYPE');
  });

  it('refuses a 10 MB body with CSTA_ERR_LIMIT, as bytes and as a string, without growing the heap by its size', () => {
    const big = new Uint8Array(10 * 1024 * 1024).fill(0x61);
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 20; i++) expect(errorCode(parseCsta(big))).toBe('CSTA_ERR_LIMIT');
    const s = `<MonitorStop xmlns="${NS3}"><monitorCrossRefID>${'1'.repeat(10 * 1024 * 1024)}</monitorCrossRefID></MonitorStop>`;
    expect(errorCode(parseCsta(s))).toBe('CSTA_ERR_LIMIT');
    // 20 decodes of 10 MB would be 200 MB of strings; refused before decoding, nothing is allocated.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(30 * 1024 * 1024);
  });

  it('refuses depth 10,000 with CSTA_ERR_LIMIT', () => {
    const deep = '<a>'.repeat(10_000) + '</a>'.repeat(10_000);
    expect(errorCode(parseCsta(deep))).toBe('CSTA_ERR_LIMIT');
  });

  it('refuses truncated documents with CSTA_ERR_PARSE', () => {
    const xml = `<MonitorStop xmlns="${NS3}"><monitorCrossRefID>1</monitorCrossRefID></MonitorStop>`;
    for (let cut = 1; cut < xml.length; cut++) {
      expect(errorCode(parseCsta(xml.slice(0, cut))), `cut at ${cut}`).toBe('CSTA_ERR_PARSE');
    }
  });

  it('refuses mismatched tags with CSTA_ERR_PARSE', () => {
    expect(errorCode(parseCsta(`<MonitorStop xmlns="${NS3}"><monitorCrossRefID>1</MonitorStop></monitorCrossRefID>`))).toBe('CSTA_ERR_PARSE');
    expect(errorCode(parseCsta('<a><b></a>'))).toBe('CSTA_ERR_PARSE');
  });

  it('refuses two roots with CSTA_ERR_PARSE', () => {
    expect(errorCode(parseCsta(`<MonitorStop xmlns="${NS3}"/><MonitorStop xmlns="${NS3}"/>`))).toBe('CSTA_ERR_PARSE');
  });

  it('refuses invalid UTF-8 with CSTA_ERR_ENCODING', () => {
    const head = new TextEncoder().encode(`<MonitorStop xmlns="${NS3}"><monitorCrossRefID>`);
    const tail = new TextEncoder().encode('</monitorCrossRefID></MonitorStop>');
    for (const bad of [[0xc3], [0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
      expect(errorCode(parseCsta(new Uint8Array([...head, ...bad, ...tail])))).toBe('CSTA_ERR_ENCODING');
    }
  });

  it('refuses an empty body and text that is not XML with CSTA_ERR_PARSE', () => {
    expect(errorCode(parseCsta(''))).toBe('CSTA_ERR_PARSE');
    expect(errorCode(parseCsta('not xml at all'))).toBe('CSTA_ERR_PARSE');
  });

  it('refuses more elements than the limit with CSTA_ERR_LIMIT', () => {
    const many = `<GetSwitchingFunctionDevices xmlns="${NS3}">${'<x/>'.repeat(5_000)}</GetSwitchingFunctionDevices>`;
    expect(errorCode(parseCsta(many))).toBe('CSTA_ERR_LIMIT');
  });
});
