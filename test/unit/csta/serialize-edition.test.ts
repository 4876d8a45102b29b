/**
 * The edition `serializeCsta` writes when none is asked for (no option, no `message.edition`: a
 * message built by hand, or read from a document without a namespace): ed3, the edition of
 * ECMA TR/87, unless the message uses an element or field ed3 lacks; then the oldest edition that
 * has them all. An edition asked for is never changed.
 */
import { describe, expect, it } from 'vitest';
import { parseCsta, serializeCsta, type CstaMessage } from '../../../src/csta/index.js';

const ns = (ed: string): string => `http://www.ecma-international.org/standards/ecma-323/csta/${ed}`;

describe('serializeCsta with no edition asked for', () => {
  it('writes ed3 when ed3 has everything the message uses', () => {
    const xml = serializeCsta({ type: 'MonitorStop', monitorCrossRefID: '7' } as CstaMessage);
    expect(xml).toContain(`xmlns="${ns('ed3')}"`);
  });

  it('writes an ed6-only element read without a namespace in ed6 (found by test:fuzz)', () => {
    const r = parseCsta('<GetCallBack><device>sip:1001@pbx.example.com</device></GetCallBack>');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.edition).toBeUndefined();
    expect(serializeCsta(r.value)).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><GetCallBack xmlns="${ns('ed6')}"><device>sip:1001@pbx.example.com</device></GetCallBack>`,
    );
  });

  it('moves to the first edition that has a field the message uses (ForwardingEvent ringDuration, ed5)', () => {
    const message = {
      type: 'ForwardingEvent',
      monitorCrossRefID: '7',
      device: { deviceIdentifier: '1001' },
      forwardStatus: true,
      ringDuration: 5,
    } as unknown as CstaMessage;
    const xml = serializeCsta(message);
    expect(xml).toContain(`xmlns="${ns('ed5')}"`);
    expect(xml).toContain('<ringDuration>5</ringDuration>');
  });

  it('refuses, as before, when an older edition is asked for explicitly', () => {
    const message = { type: 'GetCallBack', device: '1001' } as unknown as CstaMessage;
    expect(() => serializeCsta(message, { edition: 'ed3' })).toThrow('<GetCallBack> exists from ed6 on; cannot be written in ed3');
    expect(() => serializeCsta({ ...message, edition: 'ed5' } as CstaMessage)).toThrow(/exists from ed6 on/);
  });
});
