/**
 * The part of npm `sip` 0.0.6 (kirm/sip.js, CommonJS, untyped) that this project touches: its
 * parser and `makeResponse`, used by `test/unit/sip/message/npm-sip.test.ts` to pin why the
 * message layer has its own scanner, and by the parse benchmark as the anchor (performance.md
 * G5). Nothing under `src/` imports it.
 */
declare module 'sip' {
  /** A parsed message: header values are strings or `sip`'s own objects; the body is a latin1 string. */
  interface SipJsMessage {
    method?: string;
    uri?: string;
    version?: string;
    status?: number;
    reason?: string;
    headers: Record<string, unknown>;
    content?: string;
  }
  interface SipJs {
    /**
     * Parses a datagram: a latin1 string, or a Node Buffer (read through `toString('binary')`,
     * so a plain Uint8Array does not work); `undefined` when it cannot.
     */
    parse(data: string | { toString(encoding: 'binary'): string }): SipJsMessage | undefined;
    /** Builds a response whose Via, To, From, Call-ID and CSeq are the request's own objects. */
    makeResponse(request: SipJsMessage, status: number, reason?: string): SipJsMessage;
  }
  const sip: SipJs;
  export default sip;
}
