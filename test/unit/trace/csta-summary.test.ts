/**
 * The CSTA element and key fields shown beside a message (ECMA-323: the root element names the
 * service, response or event; `CSTAErrorCode` carries one error class and value, §7.2).
 */

import { describe, expect, it } from 'vitest';
import { cstaLabel, summarizeCsta } from '../../../src/trace/csta-summary.js';

describe('summarizeCsta', () => {
  it('skips the prolog and reads the root element', () => {
    const s = summarizeCsta('<?xml version="1.0"?>\n<!-- a comment <Fake> -->\n<MonitorStart xmlns="x"><monitorObject><deviceObject>1001</deviceObject></monitorObject></MonitorStart>');
    expect(s).toEqual({ element: 'MonitorStart', fields: [['deviceObject', '1001']] });
  });

  it('names the error of a CSTAErrorCode', () => {
    const s = summarizeCsta('<CSTAErrorCode xmlns="x"><operation>invalidCallID</operation></CSTAErrorCode>');
    expect(s && cstaLabel(s)).toBe('CSTAErrorCode operation=invalidCallID');
  });

  it('unescapes entities and cuts long values', () => {
    const s = summarizeCsta(`<MakeCall><callingDevice>a&amp;b&#x41;</callingDevice><calledDirectoryNumber>${'9'.repeat(60)}</calledDirectoryNumber></MakeCall>`);
    expect(s?.fields).toEqual([
      ['callingDevice', 'a&bA'],
      ['calledDirectoryNumber', `${'9'.repeat(39)}…`],
    ]);
  });

  it('gives nothing for a body without an element', () => {
    expect(summarizeCsta('not xml at all')).toBeUndefined();
    expect(summarizeCsta('<?xml version="1.0"?>')).toBeUndefined();
  });
});
