/**
 * A minimal sip.js softphone that uaCSTA controllers can control (bundled by `build.ts`).
 *
 * Query parameters: `user` (AoR user), `domain` (AoR host[:port], the proxy's SIP domain),
 * `ws` (the proxy's WebSocket URL, RFC 7118), `autoAnswer=1`. With `mode=controller` the page is a
 * uaCSTA controller instead: `window.controller.connect(target)` opens a session to a phone and
 * `window.controller.request(msg)` sends a CSTA request (the browser tests drive both modes).
 */
import { Registerer, RegistererState, SessionState, UserAgent, type Invitation, type Session } from 'sip.js';
import { SipJsCstaPhone, openSipJsCstaChannel } from '../../src/adapters/sipjs/index.js';
import { CstaClient, type CstaEvent } from '../../src/browser.js';
import type { CstaMessage } from '../../src/csta/model/types.js';

const params = new URLSearchParams(location.search);
const user = params.get('user') ?? 'alice';
const domain = params.get('domain') ?? '127.0.0.1:5060';
const wsServer = params.get('ws') ?? 'ws://127.0.0.1:8088';
const mode = params.get('mode') ?? 'phone';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const autoAnswer = $<HTMLInputElement>('autoAnswer');
autoAnswer.checked = params.get('autoAnswer') === '1';
$('me').textContent = `${user}@${domain}`;

const log: string[] = [];
function note(line: string): void {
  log.push(line);
  const el = $('log');
  el.textContent = log.slice(-40).join('\n');
  el.scrollTop = el.scrollHeight;
}

let pendingInvitation: Invitation | undefined;

const ua = new UserAgent({
  uri: UserAgent.makeURI(`sip:${user}@${domain}`)!,
  transportOptions: { server: wsServer },
  logLevel: 'warn',
  // no STUN: ICE gathers host candidates only and completes at once (loopback, LAN)
  sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] }, iceGatheringTimeout: 500 },
  delegate: {
    onInvite: (invitation) => {
      pendingInvitation = invitation;
      watch(invitation);
      if (autoAnswer.checked) void invitation.accept();
    },
  },
});

const sessions = new Set<Session>();
function watch(session: Session): void {
  sessions.add(session);
  session.stateChange.addListener((s) => {
    if (s === SessionState.Established) attachMedia(session);
    if (s === SessionState.Terminated) sessions.delete(session);
    render();
  });
}

function attachMedia(session: Session): void {
  const sdh = session.sessionDescriptionHandler as { remoteMediaStream?: MediaStream } | undefined;
  const audio = $<HTMLAudioElement>('remoteAudio');
  if (sdh?.remoteMediaStream !== undefined) {
    audio.srcObject = sdh.remoteMediaStream;
    void audio.play().catch(() => {});
  }
}

let registration = 'unregistered';
const registerer = new Registerer(ua);
registerer.stateChange.addListener((s) => {
  registration = s === RegistererState.Registered ? 'registered' : s.toLowerCase();
  render();
});

// --- phone mode: the controlled softphone ---------------------------------------------------
const phone = mode === 'phone' ? new SipJsCstaPhone({ ua }) : undefined;
phone?.on('change', () => render());
phone?.on('session', (s) => watch(s));
phone?.on('event', (e) => note(`${e.type}${'cause' in e ? ` (${String(e.cause)})` : ''}`));

function render(): void {
  const reg = $('registration');
  reg.textContent = registration;
  reg.className = registration === 'registered' ? 'badge on' : 'badge';
  if (phone !== undefined) {
    // (in controller mode the badge says what this page controls)
    const by = $('controlledBy');
    const controllers = phone.controllers;
    by.textContent = controllers.length === 0 ? 'nobody' : controllers.join(', ');
    by.className = controllers.length === 0 ? 'badge' : 'badge on';
  }
  const list = $('calls');
  const calls = phone?.calls ?? [];
  list.innerHTML = '';
  if (calls.length === 0) list.innerHTML = '<li>idle</li>';
  for (const c of calls) {
    const li = document.createElement('li');
    li.innerHTML = `${c.callID} ${c.direction === 'outgoing' ? '→' : '←'} ${c.remoteDevice}: <span class="state"></span>`;
    li.querySelector('.state')!.textContent = c.state;
    list.append(li);
  }
  $<HTMLInputElement>('dnd').checked = phone?.doNotDisturb ?? false;
  $<HTMLInputElement>('mute').checked = phone?.microphoneMuted ?? false;
}

// dial pad
const pad = $('pad');
for (const key of ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#']) {
  const b = document.createElement('button');
  b.textContent = key;
  b.onclick = () => {
    const active = [...sessions].find((s) => s.state === SessionState.Established);
    const sdh = active?.sessionDescriptionHandler as { sendDtmf?: (t: string) => boolean } | undefined;
    if (sdh?.sendDtmf !== undefined) sdh.sendDtmf(key);
    else $<HTMLInputElement>('number').value += key;
  };
  pad.append(b);
}
$('call').onclick = () => {
  const number = $<HTMLInputElement>('number').value.trim();
  if (number !== '' && phone !== undefined) phone.makeCall(number);
};
$('answer').onclick = () => {
  if (pendingInvitation?.state === SessionState.Initial) void pendingInvitation.accept();
};
$('hangup').onclick = () => {
  for (const s of sessions) {
    if (s.state === SessionState.Established) void s.bye();
    else if (s === pendingInvitation && s.state === SessionState.Initial) void pendingInvitation.reject();
    else if ('cancel' in s && s.state === SessionState.Establishing) void (s as { cancel(): Promise<void> }).cancel();
  }
};
$('dnd').onchange = (e) => phone?.setDoNotDisturb((e.target as HTMLInputElement).checked);
$('mute').onchange = (e) => phone?.setMicrophoneMute((e.target as HTMLInputElement).checked);

// --- controller mode: this page controls a phone ---------------------------------------------
interface ControllerApi {
  events: CstaEvent[];
  connect(target: string, body?: string): Promise<string>;
  request(message: CstaMessage): Promise<unknown>;
  close(): Promise<void>;
}
let client: CstaClient | undefined;
const controller: ControllerApi = {
  events: [],
  async connect(target, body) {
    const opened = await openSipJsCstaChannel(ua, target, body === undefined ? {} : { body });
    client = new CstaClient({ channel: opened.channel, invokeTimeoutMs: 10_000 });
    client.on('event', (e) => {
      controller.events.push(e);
      note(`${e.type}${'cause' in e ? ` (${String(e.cause)})` : ''}`);
    });
    client.on('closed', () => ($('controlledBy').textContent = `session to ${target} closed`));
    $('controlledBy').textContent = `controlling ${target}`;
    $('controlledBy').className = 'badge on';
    return opened.establishedBody;
  },
  async request(message) {
    if (client === undefined) throw new Error('not connected');
    try {
      const response = (await client.request(message as never)) as { type: string };
      note(`${message.type} → ${response.type}`);
      return response;
    } catch (error) {
      // shown on the page, and crosses the page boundary as plain data
      const e = error as { code?: string; category?: string; value?: string; message?: string };
      note(`${message.type} → CSTA error ${e.category ?? e.code ?? ''}: ${e.value ?? e.message ?? ''}`);
      return { error: { code: e.code, category: e.category, value: e.value, message: e.message } };
    }
  },
  async close() {
    await client?.close();
  },
};

// --- what the tests read ---------------------------------------------------------------------
async function mediaStats(): Promise<{ connectionState: string; bytesReceived: number; bytesSent: number }> {
  const active = [...sessions].find((s) => s.state === SessionState.Established);
  const pc = (active?.sessionDescriptionHandler as { peerConnection?: RTCPeerConnection } | undefined)?.peerConnection;
  if (pc === undefined) return { connectionState: 'none', bytesReceived: 0, bytesSent: 0 };
  let bytesReceived = 0;
  let bytesSent = 0;
  (await pc.getStats()).forEach((r: { type: string; kind?: string; bytesReceived?: number; bytesSent?: number }) => {
    if (r.type === 'inbound-rtp' && r.kind === 'audio') bytesReceived += r.bytesReceived ?? 0;
    if (r.type === 'outbound-rtp' && r.kind === 'audio') bytesSent += r.bytesSent ?? 0;
  });
  return { connectionState: pc.connectionState, bytesReceived, bytesSent };
}

Object.assign(window, {
  softphone: {
    get registration() {
      return registration;
    },
    get controllers() {
      return phone?.controllers ?? [];
    },
    get calls() {
      return (phone?.calls ?? []).map((c) => ({ callID: c.callID, direction: c.direction, remoteDevice: c.remoteDevice, state: c.state }));
    },
    log,
    mediaStats,
  },
  controller,
});

render();
void ua
  .start()
  .then(() => registerer.register())
  .catch((error: unknown) => note(`start failed: ${String(error)}`));
