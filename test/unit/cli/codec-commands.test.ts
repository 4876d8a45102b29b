import { describe, it, expect } from 'vitest';
import { runCli } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/io.js';

const NS3 = 'http://www.ecma-international.org/standards/ecma-323/csta/ed3';

function io(inputs: Record<string, string>): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    readInput: async (path) => {
      const text = inputs[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return new TextEncoder().encode(text);
    },
  };
}

describe('uacsta decode', () => {
  it('prints the typed message as JSON and exits 0', async () => {
    const t = io({ 'mc.xml': `<MakeCall xmlns="${NS3}"><callingDevice>1001</callingDevice><calledDirectoryNumber>0045</calledDirectoryNumber></MakeCall>` });
    expect(await runCli(['decode', 'mc.xml'], t)).toBe(0);
    expect(JSON.parse(t.out.join(''))).toEqual({ type: 'MakeCall', edition: 'ed3', callingDevice: '1001', calledDirectoryNumber: '0045' });
  });

  it('reads standard input for -', async () => {
    const t = io({ '-': `<MonitorStop xmlns="${NS3}"><monitorCrossRefID>7</monitorCrossRefID></MonitorStop>` });
    expect(await runCli(['decode', '-'], t)).toBe(0);
    expect(JSON.parse(t.out.join(''))).toMatchObject({ type: 'MonitorStop', monitorCrossRefID: '7' });
  });

  it('exits 1 with the error code as JSON on bad input', async () => {
    const t = io({ '-': '<a><b></a>' });
    expect(await runCli(['decode'], t)).toBe(1);
    expect(JSON.parse(t.out.join(''))).toMatchObject({ error: { code: 'CSTA_ERR_PARSE' } });
  });

  it('prints warnings with --warnings', async () => {
    const t = io({ '-': `<MonitorStop xmlns="${NS3}"><monitorCrossRefID>7</monitorCrossRefID><x/></MonitorStop>` });
    expect(await runCli(['decode', '--warnings'], t)).toBe(0);
    expect(JSON.parse(t.out.join('')).warnings).toEqual([expect.objectContaining({ code: 'CSTA_WARN_UNKNOWN_ELEMENT' })]);
  });

  it('exits 2 on an unknown option, a missing file or too many files', async () => {
    expect(await runCli(['decode', '--nope'], io({}))).toBe(2);
    expect(await runCli(['decode', 'missing.xml'], io({}))).toBe(2);
    expect(await runCli(['decode', 'a', 'b'], io({}))).toBe(2);
  });
});

describe('uacsta encode', () => {
  it('writes XML in the chosen edition', async () => {
    const t = io({ '-': JSON.stringify({ type: 'MonitorStop', monitorCrossRefID: '7' }) });
    expect(await runCli(['encode', '--edition', 'ed5', '--no-declaration'], t)).toBe(0);
    expect(t.out.join('')).toBe(
      '<MonitorStop xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5"><monitorCrossRefID>7</monitorCrossRefID></MonitorStop>\n',
    );
  });

  it('exits 1 with CSTA_ERR_SERIALIZE when the JSON does not fit the model', async () => {
    const t = io({ '-': JSON.stringify({ type: 'MakeCall', callingDevice: '1' }) });
    expect(await runCli(['encode'], t)).toBe(1);
    expect(JSON.parse(t.out.join(''))).toMatchObject({ error: { code: 'CSTA_ERR_SERIALIZE' } });
  });

  it('exits 2 on input that is not JSON and on an unknown edition', async () => {
    expect(await runCli(['encode'], io({ '-': '{nope' }))).toBe(2);
    expect(await runCli(['encode', '--edition', 'ed9'], io({ '-': '{}' }))).toBe(2);
  });
});

describe('uacsta', () => {
  it('prints help with exit 0, and usage with exit 2 when no command is given', async () => {
    const h = io({});
    expect(await runCli(['--help'], h)).toBe(0);
    expect(h.out.join('')).toContain('Exit codes');
    expect(await runCli([], io({}))).toBe(2);
    expect(await runCli(['frobnicate'], io({}))).toBe(2);
  });

  it('prints the package version', async () => {
    const t = io({});
    expect(await runCli(['--version'], t)).toBe(0);
    expect(t.out.join('')).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
