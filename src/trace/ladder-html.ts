/**
 * The `--ladder` page: a self-contained HTML document with an SVG ladder diagram of a trace.
 *
 * @remarks
 * One lane per party (address:port, named when known), one arrow per message in time order, the
 * SIP method or status (RFC 3261 §7.1, §7.2) above each arrow and the CSTA element with its key
 * fields (ECMA-323: callID, device, monitorCrossRefID, cause) below it; a click shows the whole
 * message. Everything is inline (CSS, script, SVG) and a Content-Security-Policy forbids any
 * load, so the page opens from disk anywhere. Every text from the trace is HTML-escaped: a
 * message is untrusted input and a body with `</script>` or `<svg onload=…>` must stay text.
 */

import { cstaLabel } from './csta-summary.js';
import { formatTime } from './format-line.js';
import { formatAddress, receiverOf, senderOf, type TraceAddress, type TraceRecord } from './record.js';
import { sipLabel, summarizeSip } from './sip-summary.js';

/** Options of {@link renderLadderHtml}. */
export interface LadderOptions {
  /** The page title. @defaultValue `'uaCSTA ladder'` */
  readonly title?: string;
  /** Names of addresses no record names (`'127.0.0.1:5060'` → `'phone 1001'`). */
  readonly names?: Readonly<Record<string, string>>;
}

/** The characters HTML gives meaning to, as references (HTML §13.1.4, §13.2.5). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Longest label drawn on an arrow; the whole message is one click away. */
const MAX_LABEL = 96;
const LANE_MIN = 220;
const LANE_MAX = 420;
const CHAR_PX = 6.6;
const LEFT = 110;
const TOP = 70;
const ROW = 60;

/** How many characters fit `px` of arrow. */
function fit(px: number): number {
  return Math.min(MAX_LABEL, Math.max(12, Math.floor((px - 16) / CHAR_PX)));
}

/** `s` cut to `max` characters (the whole label is in the arrow's tooltip). */
function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * `s` in at most two lines of `max` characters, broken after a space; the first line keeps its
 * trailing space so that the lines' text joined is the label.
 */
function wrap(s: string, max: number): string[] {
  if (s.length <= max) return [s];
  const cut = s.lastIndexOf(' ', max);
  const at = cut > 0 ? cut + 1 : max;
  return [s.slice(0, at), clip(s.slice(at), max)];
}

interface Lane {
  readonly key: string;
  readonly address: string;
  name: string | undefined;
}

const keyOf = (a: TraceAddress): string => formatAddress(a).toLowerCase();

/**
 * Renders `records` (in the order given; see `mergeTrace`) as an HTML page.
 *
 * @example
 * writeFileSync('call.html', renderLadderHtml(mergeTrace(records), { title: 'MakeCall' }));
 */
export function renderLadderHtml(records: readonly TraceRecord[], options: LadderOptions = {}): string {
  const lanes: Lane[] = [];
  const byKey = new Map<string, Lane>();
  const lane = (a: TraceAddress): Lane => {
    const key = keyOf(a);
    let l = byKey.get(key);
    if (l === undefined) {
      l = { key, address: formatAddress(a), name: options.names?.[formatAddress(a)] };
      byKey.set(key, l);
      lanes.push(l);
    }
    return l;
  };
  const arrows = records.map((r, index) => {
    const from = lane(senderOf(r));
    const to = lane(receiverOf(r));
    if (r.party !== undefined) lane(r.local).name ??= r.party;
    const s = summarizeSip(r.bytes);
    const sip = `${sipLabel(s)} (${r.transport.toUpperCase()})`;
    const csta = s.csta === undefined ? '' : cstaLabel(s.csta);
    return { index, r, from, to, sip, csta, text: s.text };
  });
  const longest = Math.max(0, ...arrows.map((a) => Math.max(a.sip.length, a.csta.length)));
  const spacing = Math.round(Math.min(LANE_MAX, Math.max(LANE_MIN, longest * CHAR_PX + 40)));
  const x = (l: Lane): number => LEFT + lanes.indexOf(l) * spacing + spacing / 2;
  const width = LEFT + Math.max(1, lanes.length) * spacing + 20;
  const height = TOP + arrows.length * ROW + 30;
  const start = records[0]?.time ?? 0;

  const laneSvg = lanes
    .map((l) => {
      const cx = x(l);
      const label = l.name === undefined ? '' : `<text class="lane-name" x="${cx}" y="24">${escapeHtml(l.name)}</text>`;
      return (
        `<g class="lane" data-address="${escapeHtml(l.address)}">${label}` +
        `<text class="lane-address" x="${cx}" y="${l.name === undefined ? 32 : 42}">${escapeHtml(l.address)}</text>` +
        `<line x1="${cx}" y1="${TOP - 14}" x2="${cx}" y2="${height - 10}"/></g>`
      );
    })
    .join('\n');

  const arrowSvg = arrows
    .map((a) => {
      const y = TOP + a.index * ROW + 26;
      const x1 = x(a.from);
      const x2 = x(a.to);
      const mid = (x1 + x2) / 2;
      const title = `${formatTime(a.r.time)} ${a.from.address} → ${a.to.address} ${a.sip}${a.csta === '' ? '' : ` ${a.csta}`}`;
      const room = x1 === x2 ? spacing - 56 : Math.abs(x2 - x1);
      const line =
        x1 === x2
          ? `<path class="shaft" d="M${x1} ${y - 8} h40 v16 h-36" marker-end="url(#head)"/>`
          : `<line class="shaft" x1="${x1}" y1="${y}" x2="${x2 + (x2 > x1 ? -2 : 2)}" y2="${y}" marker-end="url(#head)"/>`;
      const tx = x1 === x2 ? x1 + 48 : mid;
      const anchor = x1 === x2 ? 'start' : 'middle';
      const left = Math.min(x1, x2) - 4;
      const hitWidth = Math.max(60, Math.abs(x2 - x1) + 8);
      return (
        `<g class="arrow ${a.r.direction}" data-index="${a.index}" tabindex="0" role="button">` +
        `<title>${escapeHtml(title)}</title>` +
        `<rect class="hit" x="${left}" y="${y - 24}" width="${hitWidth}" height="${ROW - 6}"/>` +
        `<text class="time" x="8" y="${y + 4}">${escapeHtml(formatTime(a.r.time))}</text>` +
        `<text class="elapsed" x="8" y="${y + 16}">+${((a.r.time - start) / 1000).toFixed(3)} s</text>` +
        line +
        `<text class="sip" x="${tx}" y="${y - 6}" text-anchor="${anchor}">${escapeHtml(clip(a.sip, fit(room)))}</text>` +
        (a.csta === ''
          ? ''
          : `<text class="csta" x="${tx}" y="${y + 14}" text-anchor="${anchor}">` +
            wrap(a.csta, fit(room))
              .map((l, i) => `<tspan x="${tx}" dy="${i === 0 ? 0 : 13}">${escapeHtml(l)}</tspan>`)
              .join('') +
            `</text>`) +
        `</g>`
      );
    })
    .join('\n');

  const messages = arrows
    .map((a) => `<pre data-index="${a.index}">${escapeHtml(a.text)}</pre>`)
    .join('\n');
  const title = escapeHtml(options.title ?? 'uaCSTA ladder');

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${title}</title>
<style>
body { font: 13px system-ui, sans-serif; margin: 0; color: #222; }
header { padding: 8px 12px; border-bottom: 1px solid #ccc; }
h1 { font-size: 16px; margin: 0; }
main { padding-bottom: 40vh; }
#diagram { overflow-x: auto; }
#detail { position: fixed; left: 0; right: 0; bottom: 0; height: 38vh; overflow: auto; border-top: 2px solid #1a4d8f; background: #fafafa; padding: 8px 12px; box-sizing: border-box; }
#detail pre, #messages pre { font: 12px ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; margin: 0; }
.lane line { stroke: #999; stroke-dasharray: 4 3; }
.lane-name { font-weight: bold; text-anchor: middle; }
.lane-address { font: 11px ui-monospace, monospace; text-anchor: middle; fill: #555; }
.arrow { cursor: pointer; outline: none; }
.arrow .hit { fill: transparent; }
.arrow:hover .hit, .arrow:focus .hit { fill: #eef4ff; }
.arrow.selected .hit { fill: #dbe8ff; }
.shaft { stroke: #1a4d8f; stroke-width: 1.5; fill: none; }
.sip { font-weight: bold; fill: #1a4d8f; }
.csta { fill: #8a3b00; font-size: 12px; }
.time, .elapsed { font: 11px ui-monospace, monospace; fill: #666; }
#head path { fill: #1a4d8f; }
</style>
</head>
<body>
<header><h1>${title}</h1><p>${arrows.length} messages between ${lanes.length} parties. Click an arrow for the whole message.</p></header>
<main>
<div id="diagram">
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<defs><marker id="head" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0 0 L10 4 L0 8 z"/></marker></defs>
${laneSvg}
${arrowSvg}
</svg>
</div>
<section id="detail"><pre id="detail-text">Click an arrow to see the message.</pre></section>
</main>
<div id="messages" hidden>
${messages}
</div>
<script>
(function () {
  var detail = document.getElementById('detail-text');
  function show(g) {
    var i = g.getAttribute('data-index');
    var src = document.querySelector('#messages pre[data-index="' + i + '"]');
    var old = document.querySelector('.arrow.selected');
    if (old) old.classList.remove('selected');
    g.classList.add('selected');
    detail.textContent = src ? src.textContent : '';
  }
  document.querySelectorAll('.arrow').forEach(function (g) {
    g.addEventListener('click', function () { show(g); });
    g.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') show(g); });
  });
})();
</script>
</body>
</html>
`;
}
