/**
 * The HTML ladder: one lane per party, one arrow per message in order, SIP and CSTA labels, the
 * whole message kept for the click, nothing from a message able to inject markup or script.
 */

import { describe, expect, it } from 'vitest';
import { escapeHtml, renderLadderHtml } from '../../../src/trace/ladder-html.js';
import type { TraceRecord } from '../../../src/trace/record.js';
import { controllerView, request, PHONE, CONTROLLER } from './records.js';

const count = (html: string, needle: string): number => html.split(needle).length - 1;

describe('renderLadderHtml', () => {
  it('draws one lane per address, named by the party that traced it', () => {
    const html = renderLadderHtml(controllerView());
    expect(count(html, '<g class="lane"')).toBe(2);
    expect(html).toContain('<g class="lane" data-address="127.0.0.1:5070"><text class="lane-name" x=');
    expect(html).toMatch(/<text class="lane-name"[^>]*>controller<\/text>/);
    expect(html).toContain('<g class="lane" data-address="127.0.0.1:5080"><text class="lane-address"');
  });

  it('names other lanes from the options', () => {
    const html = renderLadderHtml(controllerView(), { names: { '127.0.0.1:5080': 'phone 1001' } });
    expect(html).toMatch(/<text class="lane-name"[^>]*>phone 1001<\/text>/);
  });

  it('draws one arrow per record, in order, in the direction the message went', () => {
    const records = controllerView();
    const html = renderLadderHtml(records);
    expect(count(html, '<g class="arrow ')).toBe(records.length);
    const order = [...html.matchAll(/<g class="arrow (in|out)" data-index="(\d+)"/g)].map((m) => `${m[2]}:${m[1]}`);
    expect(order).toEqual(['0:out', '1:in', '2:out', '3:out', '4:in', '5:in', '6:out']);
    const sip = [...html.matchAll(/<text class="sip"[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(sip).toEqual(['INVITE (UDP)', '200 OK (UDP)', 'ACK (UDP)', 'INFO (UDP)', '200 OK (UDP)', 'INFO (UDP)', '200 OK (UDP)']);
    const csta = [...html.matchAll(/<text class="csta"[^>]*>(.*?)<\/text>/g)].map((m) => m[1]!.replace(/<[^>]*>/g, ''));
    expect(csta).toEqual([
      'MakeCall callingDevice=1001 calledDirectoryNumber=1002',
      'MakeCallResponse callID=c1 deviceID=1001',
      'DeliveredEvent callID=c1 deviceID=1002 monitorCrossRefID=43 cause=newCall',
    ]);
    // a sent message goes left to right (controller lane first), a received one right to left
    const lines = [...html.matchAll(/<line class="shaft" x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"/g)].map((m) => Number(m[1]) < Number(m[2]));
    expect(lines).toEqual([true, false, true, true, false, false, true]);
    expect(count(html, '<pre data-index=')).toBe(records.length);
  });

  it('breaks a long CSTA label over two lines, and cuts what is longer still', () => {
    const html = renderLadderHtml(controllerView());
    const event = /<text class="csta"[^>]*>((?:(?!<\/text>).)*DeliveredEvent.*?)<\/text>/.exec(html)![1]!;
    expect([...event.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((m) => m[1])).toEqual([
      'DeliveredEvent callID=c1 deviceID=1002 monitorCrossRefID=43 ',
      'cause=newCall',
    ]);
    const long = `<MakeCall><callID>${'c'.repeat(40)}</callID><deviceID>${'d'.repeat(40)}</deviceID><calledDirectoryNumber>${'9'.repeat(40)}</calledDirectoryNumber></MakeCall>`;
    const one = renderLadderHtml([{ ...controllerView()[3]!, bytes: request('INFO', 2, 'UDP', long) }]);
    const lines = [...one.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((m) => m[1]!);
    expect(lines).toHaveLength(2);
    expect(lines[1]!.endsWith('…')).toBe(true);
    expect(one).toContain(`<title>03:04:05.708 127.0.0.1:5070 → 127.0.0.1:5080 INFO (UDP) MakeCall callID=${'c'.repeat(40)} deviceID=`);
  });

  it('escapes everything a message carries', () => {
    const body = '</script><script>alert(1)</script><svg onload="alert(2)"><img src=x onerror=alert(3)>&amp;';
    const evil: TraceRecord = {
      time: 0,
      direction: 'out',
      transport: 'udp',
      local: CONTROLLER,
      remote: { host: '<b>x', port: 1 },
      bytes: request('INFO', 2, 'UDP', `<MakeCall><callingDevice>${body}</callingDevice></MakeCall>`),
      party: '<i>"party"</i>',
    };
    const html = renderLadderHtml([evil], { title: '</title><script>alert(4)</script>' });
    expect(count(html, '<script')).toBe(1); // the page's own
    expect(count(html, '</script>')).toBe(1);
    expect(html).not.toContain('<svg onload');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>x');
    expect(html).not.toContain('<i>');
    expect(html).toContain('&#60;/script&#62;&#60;script&#62;alert(1)');
    expect(html).toContain('&#38;amp;');
  });

  it('draws a message to its own address as a loop, and an empty trace as an empty page', () => {
    const self: TraceRecord = { ...controllerView()[0]!, remote: CONTROLLER };
    const html = renderLadderHtml([self]);
    expect(count(html, '<g class="lane"')).toBe(1);
    expect(html).toContain('<path class="shaft"');
    const empty = renderLadderHtml([]);
    expect(count(empty, '<g class="arrow')).toBe(0);
    expect(empty).toContain('0 messages between 0 parties');
    void PHONE;
  });

  it('loads nothing: no URL but the SVG namespace, and a CSP that forbids loads', () => {
    const html = renderLadderHtml(controllerView());
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"`);
    expect([...html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/gi)].map((m) => m[0]).filter((u) => !u.includes('w3.org') && !u.includes('ecma-international.org'))).toEqual([]);
    expect(html).not.toMatch(/<(link|img|iframe)\b|src=/);
  });

  it('escapes the five characters HTML gives meaning to', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });
});
