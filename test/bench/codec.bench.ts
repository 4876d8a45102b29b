/**
 * CSTA codec benchmarks (issue #3): decode and encode of a ~750-byte DeliveredEvent and a
 * MakeCall, each paired with a bare fast-xml-parser `parse` of the same bytes (default options).
 */
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { parseCsta, serializeCsta } from '../../src/csta/index.js';
import { paired, type BenchRow } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));

export function codecBench(rounds: number, ms: number): BenchRow[] {
  const rows: BenchRow[] = [];
  const fxp = new XMLParser();
  for (const name of ['delivered-event', 'make-call']) {
    const xml = readFileSync(join(here, 'fixtures', `${name}.xml`), 'utf8');
    const parsed = parseCsta(xml);
    if (!parsed.ok) throw new Error(`${name}: ${parsed.error.message}`);
    const msg = parsed.value;
    const bare = () => fxp.parse(xml);
    const dec = paired(() => parseCsta(xml), bare, rounds, ms);
    rows.push({
      name: `decode ${msg.type} (${Buffer.byteLength(xml)} B)`,
      unit: 'msg/s',
      value: dec.subject,
      anchor: 'fast-xml-parser parse, same bytes',
      anchorValue: dec.anchor,
      ratio: dec.ratio,
      target: 'cost ≤ 1.5× the bare parse, i.e. ratio ≥ 0.67',
    });
    const enc = paired(() => serializeCsta(msg), bare, rounds, ms);
    rows.push({
      name: `encode ${msg.type}`,
      unit: 'msg/s',
      value: enc.subject,
      anchor: 'fast-xml-parser parse, same bytes',
      anchorValue: enc.anchor,
      ratio: enc.ratio,
      target: '≥ 100,000 msg/s',
    });
  }
  return rows;
}
