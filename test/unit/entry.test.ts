import { describe, it, expect } from 'vitest';
import * as node from '../../src/index.js';
import * as browser from '../../src/browser.js';

describe('package entry points', () => {
  it('load and expose the codec, the SIP stack and the error model from the Node entry', () => {
    for (const name of ['parseCsta', 'serializeCsta', 'parseSipMessage', 'SipEndpoint', 'UserAgent', 'UdpTransport', 'DigestClient', 'BindingStore', 'isUaCstaError']) {
      expect(typeof (node as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('expose the codec but no Node-only part from the browser entry', () => {
    expect(typeof browser.parseCsta).toBe('function');
    expect('SipEndpoint' in browser).toBe(false);
    expect('UdpTransport' in browser).toBe(false);
  });
});
