/**
 * The pcap writer, byte by byte: the libpcap file and record headers (pcap-savefile(5)),
 * Ethernet, IPv4 (RFC 791) and IPv6 (RFC 8200), UDP (RFC 768) and TCP (RFC 9293) with sequence
 * numbers that follow the bytes of each direction, checksums that verify (RFC 1071).
 */

import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, writePcap } from '../../../src/trace/pcap.js';
import type { TraceRecord } from '../../../src/trace/record.js';
import { controllerView, request, T0 } from './records.js';

interface Packet {
  readonly sec: number;
  readonly usec: number;
  readonly data: Uint8Array;
  readonly view: DataView;
}

function packets(file: Uint8Array): Packet[] {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: Packet[] = [];
  for (let at = 24; at < file.length; ) {
    const incl = v.getUint32(at + 8, true);
    expect(v.getUint32(at + 12, true)).toBe(incl);
    const data = file.subarray(at + 16, at + 16 + incl);
    out.push({ sec: v.getUint32(at, true), usec: v.getUint32(at + 4, true), data, view: new DataView(data.buffer, data.byteOffset, data.byteLength) });
    at += 16 + incl;
  }
  return out;
}

/** The RFC 1071 sum over `parts`, complemented: 0 when the checksum inside them is right. */
function verify(...parts: Uint8Array[]): number {
  let s = 0;
  for (const p of parts) {
    for (let i = 0; i + 1 < p.length; i += 2) s += (p[i]! << 8) | p[i + 1]!;
    if (p.length % 2 === 1) s += p[p.length - 1]! << 8;
  }
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

function pseudo(src: Uint8Array, dst: Uint8Array, proto: number, length: number): Uint8Array {
  const p = new Uint8Array(src.length + dst.length + 4);
  p.set(src);
  p.set(dst, src.length);
  const v = new DataView(p.buffer);
  v.setUint16(src.length + dst.length, proto);
  v.setUint16(src.length + dst.length + 2, length);
  return p;
}

describe('writePcap', () => {
  it('writes the classic libpcap header: magic, 2.4, snaplen, Ethernet', () => {
    const { bytes, packets: n } = writePcap([]);
    expect(n).toBe(0);
    expect(Array.from(bytes)).toEqual([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, LINKTYPE_ETHERNET, 0, 0, 0]);
  });

  it('wraps each UDP message in Ethernet, IPv4 and UDP with right lengths and checksums', () => {
    const records = controllerView('udp');
    const { bytes, packets: n, notes } = writePcap(records);
    expect(n).toBe(records.length);
    expect(notes).toEqual([]);
    const ps = packets(bytes);
    ps.forEach((p, i) => {
      const r = records[i]!;
      expect(p.sec * 1000 + p.usec / 1000).toBe(r.time);
      expect(p.view.getUint16(12)).toBe(0x0800);
      const ip = p.data.subarray(14, 34);
      expect(ip[0]).toBe(0x45);
      expect(p.view.getUint16(16)).toBe(20 + 8 + r.bytes.length);
      expect(ip[9]).toBe(17);
      expect(Array.from(ip.subarray(12, 20))).toEqual([127, 0, 0, 1, 127, 0, 0, 1]);
      expect(verify(ip)).toBe(0);
      const udp = p.data.subarray(34);
      const sport = p.view.getUint16(34);
      const dport = p.view.getUint16(36);
      expect([sport, dport]).toEqual(r.direction === 'out' ? [5070, 5080] : [5080, 5070]);
      expect(p.view.getUint16(38)).toBe(8 + r.bytes.length);
      expect(p.view.getUint16(40)).not.toBe(0);
      expect(verify(pseudo(ip.subarray(12, 16), ip.subarray(16, 20), 17, udp.length), udp)).toBe(0);
      expect(udp.subarray(8)).toEqual(r.bytes);
    });
  });

  it('opens a TCP connection once and numbers each direction by its bytes', () => {
    const records = controllerView('tcp');
    const { bytes, packets: n } = writePcap(records);
    expect(n).toBe(3 + records.length);
    const ps = packets(bytes);
    const tcp = ps.map((p) => ({
      sport: p.view.getUint16(34),
      seq: p.view.getUint32(38),
      ack: p.view.getUint32(42),
      flags: p.data[47]!,
      payload: p.data.subarray(54),
      ok: verify(pseudo(p.data.subarray(26, 30), p.data.subarray(30, 34), 6, p.data.length - 34), p.data.subarray(34)),
    }));
    expect(tcp.map((t) => t.ok)).toEqual(tcp.map(() => 0));
    expect(tcp.slice(0, 3).map((t) => [t.sport, t.flags])).toEqual([[5070, 0x02], [5080, 0x12], [5070, 0x10]]);
    const [syn, synAck] = tcp;
    expect(synAck!.ack).toBe(syn!.seq + 1);
    const next = { 5070: syn!.seq + 1, 5080: synAck!.seq + 1 } as Record<number, number>;
    tcp.slice(3).forEach((t, i) => {
      const r = records[i]!;
      const peer = t.sport === 5070 ? 5080 : 5070;
      expect(t.sport).toBe(r.direction === 'out' ? 5070 : 5080);
      expect(t.seq).toBe(next[t.sport]);
      expect(t.ack).toBe(next[peer]);
      expect(t.flags).toBe(0x18); // ACK, PSH
      expect(t.payload).toEqual(r.bytes);
      next[t.sport] = t.seq + r.bytes.length;
    });
  });

  it('splits a TCP message into segments, PSH on the last', () => {
    const big = request('INFO', 9, 'TCP', `<MakeCall><callingDevice>${'x'.repeat(5_000)}</callingDevice></MakeCall>`);
    const r: TraceRecord = { ...controllerView('tcp')[0]!, bytes: big };
    const ps = packets(writePcap([r], { maxSegmentBytes: 2_000 }).bytes).slice(3);
    expect(ps.map((p) => p.data.length - 54)).toEqual([2_000, 2_000, big.length - 4_000]);
    expect(ps.map((p) => p.data[47])).toEqual([0x10, 0x10, 0x18]);
    expect(ps.map((p) => p.view.getUint32(38) - ps[0]!.view.getUint32(38))).toEqual([0, 2_000, 4_000]);
  });

  it('cuts a UDP message that no IP packet can hold, and says so', () => {
    const r: TraceRecord = { ...controllerView('udp')[0]!, bytes: new Uint8Array(70_000).fill(0x41) };
    const { bytes, notes } = writePcap([r]);
    expect(notes).toEqual(['message 1 (127.0.0.1:5070 → 127.0.0.1:5080): 70000 bytes do not fit one UDP datagram; cut to 65507']);
    const [p] = packets(bytes);
    expect(p!.view.getUint16(16)).toBe(65_535);
    expect(p!.data.length).toBe(14 + 65_535);
  });

  it('writes IPv6 with the IPv6 pseudo-header, and a made-up address for a host name', () => {
    const r: TraceRecord = { ...controllerView('udp')[0]!, local: { host: '::1', port: 5070 }, remote: { host: 'phone.example', port: 5080 } };
    const [p] = packets(writePcap([r]).bytes);
    expect(p!.view.getUint16(12)).toBe(0x86dd);
    expect(p!.data[14]! >> 4).toBe(6);
    expect(p!.view.getUint16(18)).toBe(8 + r.bytes.length);
    const src = p!.data.subarray(22, 38);
    const dst = p!.data.subarray(38, 54);
    expect(Array.from(src)).toEqual([...new Array<number>(15).fill(0), 1]);
    expect(Array.from(dst.subarray(0, 4))).toEqual([0x20, 0x01, 0x0d, 0xb8]);
    expect(verify(pseudo(src, dst, 17, p!.data.length - 54), p!.data.subarray(54))).toBe(0);
    // the same name gives the same address every time
    expect(packets(writePcap([r]).bytes)[0]!.data.subarray(38, 54)).toEqual(dst);
  });

  it('puts the time in seconds and microseconds', () => {
    const r: TraceRecord = { ...controllerView('udp')[0]!, time: T0 + 0.25 };
    const [p] = packets(writePcap([r]).bytes);
    expect([p!.sec, p!.usec]).toEqual([Math.floor(T0 / 1000), 678_250]);
  });
});
