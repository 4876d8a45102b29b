import { describe, expect, it } from 'vitest';
import { uriTarget } from '../../../../src/sip/ua/uri-target.js';

describe('uriTarget', () => {
  it('takes host, port and the transport parameter of a SIP URI', () => {
    expect(uriTarget('sip:1001@192.0.2.1:5070;transport=tcp', 'udp')).toEqual({ protocol: 'tcp', host: '192.0.2.1', port: 5070 });
    expect(uriTarget('sip:pbx.invalid', 'udp')).toEqual({ protocol: 'udp', host: 'pbx.invalid', port: 5060 });
    expect(uriTarget('sips:[2001:db8::1]', 'udp')).toEqual({ protocol: 'tls', host: '2001:db8::1', port: 5061 });
    expect(uriTarget('sip:p1.invalid;lr', 'memory')).toEqual({ protocol: 'memory', host: 'p1.invalid', port: 5060 });
  });

  it('refuses a URI that is not sip or sips', () => {
    expect(() => uriTarget('tel:+3222220220', 'udp')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });
});
