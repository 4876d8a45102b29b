/**
 * Why the message layer reads SIP with its own scanner rather than npm `sip`'s `parse`
 * (research/libfit.md §1.6): each test pins one place where `sip` 0.0.6 is wrong for this stack
 * and shows parseSipMessage right. If an update of `sip` fixes one, the test says so.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sip from 'sip';
import { describe, expect, it } from 'vitest';
import { parseSipMessage } from '../../../../src/sip/message/parse.js';
import { createResponse } from '../../../../src/sip/message/serialize.js';

const fixtures = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'fixtures',
  'rfc4475',
);
const torture = (file: string): Uint8Array => new Uint8Array(readFileSync(join(fixtures, file)));
/** npm sip reads a Buffer through `toString('binary')`, as its UDP transport does. */
const theirParse = (bytes: Uint8Array) => sip.parse(Buffer.from(bytes));
const enc = new TextEncoder();

describe('npm sip 0.0.6 against parseSipMessage', () => {
  it('sip unescapes methods and header names (RFC 4475 esc02); parseSipMessage keeps them', () => {
    const bytes = torture('esc02.dat');
    const theirs = theirParse(bytes);
    expect(theirs?.method).toBe('REGISTER');
    const ours = parseSipMessage(bytes);
    if (!ours.ok || ours.value.kind !== 'request') throw new Error('expected a request');
    expect(ours.value.method).toBe('RE%47IST%45R');
    expect(ours.value.headers['c%6fntact']).toEqual(['<sip:alias2@host2.example.com>']);
  });

  it('sip drops requests that must be answered with 400 (RFC 4475 lwsstart); parseSipMessage answers', () => {
    const bytes = torture('lwsstart.dat');
    expect(theirParse(bytes)).toBeUndefined();
    const ours = parseSipMessage(bytes);
    expect(!ours.ok && ours.error.status).toBe(400);
  });

  it('sip accepts what RFC 3261 refuses (CSeq overflow, CSeq method mismatch); parseSipMessage answers 400', () => {
    for (const file of ['scalar02.dat', 'mismatch01.dat']) {
      expect(theirParse(torture(file)), file).toBeDefined();
      const ours = parseSipMessage(torture(file));
      expect(!ours.ok && ours.error.status, file).toBe(400);
    }
  });

  it('sip reads a UTF-8 body as latin1 characters; parseSipMessage keeps the bytes', () => {
    const body = enc.encode('<d>Müller €</d>');
    const head = enc.encode(
      `INFO sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: u@h\r\nCSeq: 1 INFO\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const bytes = new Uint8Array(head.length + body.length);
    bytes.set(head, 0);
    bytes.set(body, head.length);
    expect(theirParse(bytes)?.content).not.toBe('<d>Müller €</d>');
    const ours = parseSipMessage(bytes);
    if (!ours.ok) throw new Error(ours.error.message);
    expect(new TextDecoder().decode(ours.value.body)).toBe('<d>Müller €</d>');
  });

  it('sip.makeResponse aliases the request objects; createResponse copies them', () => {
    const bytes = torture('mpart01.dat');
    const theirs = theirParse(bytes);
    if (theirs === undefined) throw new Error('sip could not parse mpart01');
    const response = sip.makeResponse(theirs, 200, 'OK');
    expect(response.headers['to']).toBe(theirs.headers['to']);
    const ours = parseSipMessage(bytes);
    if (!ours.ok || ours.value.kind !== 'request') throw new Error('expected a request');
    const res = createResponse(ours.value, 200, 'OK', { toTag: 'x' });
    expect(res.to).not.toBe(ours.value.to);
    expect(ours.value.to.params['tag']).toBeUndefined();
  });
});
