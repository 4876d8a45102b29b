/**
 * `SimulatedPhone`: a CSTA-controllable phone. It binds the call model ({@link PhoneDevice}) to
 * every CSTA session opened on it (a {@link CstaServer} per {@link CstaChannel}) and to a
 * {@link CallSignalling} that carries its calls.
 *
 * @remarks
 * Digest §1.4–1.5: each request is answered in the 200 of its own INFO; events go as INFOs of
 * their own to every monitor of the line they concern. The simulator sends a request's response
 * before the events it causes, and one event INFO at a time per session, waiting for its 200
 * before the next (digest §1.5 item 6, §1.13): events of a session wait while one of its
 * requests is being answered, and leave once the answer has been handed to the binding.
 */

import { parseCsta, serializeCsta } from '../csta/index.js';
import type { CstaServiceMap, Edition, UniversalFailure } from '../csta/model/types.js';
import { isUaCstaError, UaCstaError } from '../errors.js';
import { PHONE_LIMITS } from '../limits.js';
import type { CstaChannel, CstaChannelAnswer } from '../uacsta/channel.js';
import type { CstaEvent } from '../uacsta/client.js';
import { CstaRejectedError, CstaServiceError } from '../uacsta/errors.js';
import { CstaServer, type CstaServerTraceEvent } from '../uacsta/server.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { CallSignalling, CallSignallingInput } from './call-signalling.js';
import type { DeviceEvent } from './call-model.js';
import { PhoneDevice, type AppliedForwarding, type LineEvent, type PhoneDeviceOptions, type PhoneLine } from './device.js';
import { deviceText } from './device-address.js';
import { phoneProfile, PHONE_PROFILES, type PhoneProfile } from './profiles.js';

/** An event that went unanswered (timeout) or was answered 408: the session is suspect. */
function suspect(error: unknown): boolean {
  if (error instanceof CstaRejectedError) return error.status === 408;
  return isUaCstaError(error) && (error.code === 'SIP_ERR_TIMEOUT' || error.code === 'UACSTA_ERR_TIMEOUT');
}

/** What the simulator reports through `trace`. */
export type SimulatedPhoneTraceEvent =
  | { readonly type: 'session-opened'; readonly session: number }
  | { readonly type: 'session-closed'; readonly session: number }
  | { readonly type: 'event-failed'; readonly session: number; readonly event: string; readonly error: unknown }
  | { readonly type: 'session-overflow'; readonly session: number; readonly queued: number; readonly reason: string }
  | { readonly type: 'server'; readonly session: number; readonly event: CstaServerTraceEvent };

/** Options of {@link SimulatedPhone}. */
export interface SimulatedPhoneOptions
  extends Pick<PhoneDeviceOptions, 'maxCallsPerLine' | 'ringIntervalMs' | 'defaultRingCount' | 'autoAnswer' | 'autoAnswerAfterMs' | 'prompt' | 'clearFailedCalls'> {
  /** What carries the phone's calls (the in-process exchange, or SIP). */
  readonly signalling: CallSignalling;
  /** A profile or the name of a shipped one (`PHONE_PROFILES`). @defaultValue 'generic' */
  readonly profile?: PhoneProfile | string;
  /**
   * The deviceID of each line, first is line 0.
   * @defaultValue `signalling.lines`, else `[signalling.address]`
   */
  readonly lines?: readonly string[];
  /** Time of rings, auto-answer and event scheduling. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /** Edition of events when the profile names none. @defaultValue 'ed3' */
  readonly edition?: Edition;
  /** @defaultValue PHONE_LIMITS.maxMonitorsPerSession */
  readonly maxMonitorsPerSession?: number;
  /** @defaultValue PHONE_LIMITS.maxQueuedEventsPerSession */
  readonly maxQueuedEventsPerSession?: number;
  readonly trace?: (event: SimulatedPhoneTraceEvent) => void;
}

/** `Open` until `close()`. */
export type SimulatedPhoneState = 'Open' | 'Closed';

/** The user at the phone, and the lab's levers (issue #7 item 6). */
export interface PhoneControl {
  /** Lifts the handset: answers a ringing call, or starts a call waiting for digits. Returns the callID. */
  offHook(line?: number): string;
  /** Dials `number` (lifting the handset first when needed). Returns the callID. */
  dial(number: string, line?: number): string;
  /** A scripted incoming call from `from` that bypasses the signalling. Returns its leg. */
  ring(from: string, line?: number): string;
  /** Answers `callID`, or the ringing call. */
  answer(callID?: string): void;
  /** Hangs up `callID`, or the newest call. */
  hangUp(callID?: string): void;
  hold(callID?: string): void;
  retrieve(callID?: string): void;
  /** The DND key (sends DoNotDisturbEvent, digest Example 7). */
  setDoNotDisturb(on: boolean, line?: number): void;
  /** The forwarding menu; `forwardDN` undefined switches `type` off (sends ForwardingEvent). */
  setForwarding(type: AppliedForwarding, forwardDN: string | undefined, ringCount?: number, line?: number): void;
  setAutoAnswer(on: boolean): void;
  /** Answers the next request of `service` with `errorValue` instead of performing it. */
  failNext(service: keyof CstaServiceMap & string, errorValue: UniversalFailure): void;
  /** Feeds a signalling input, as a scripted far end (e.g. `released` on a `ring()` leg). */
  input(input: CallSignallingInput): void;
}

interface Session {
  readonly id: number;
  readonly server: CstaServer;
  readonly monitors: Map<string, PhoneLine>;
  readonly queue: CstaEvent[];
  /** Requests being answered; events wait while it is above 0. */
  busy: number;
  pumping: boolean;
  closed: boolean;
}

const FEATURE_EVENTS: ReadonlySet<string> = new Set([
  'DoNotDisturbEvent',
  'ForwardingEvent',
  'MicrophoneMuteEvent',
  'SpeakerVolumeEvent',
  'SpeakerMuteEvent',
  'MessageWaitingEvent',
]);

/** A simulated, CSTA-controllable phone with one or more lines. */
export class SimulatedPhone {
  readonly profile: PhoneProfile;
  /** The call model (state, snapshots, lab controls). */
  readonly device: PhoneDevice;
  readonly control: PhoneControl;
  readonly #clock: Clock;
  readonly #edition: Edition;
  readonly #maxMonitors: number;
  readonly #maxQueued: number;
  readonly #trace: (event: SimulatedPhoneTraceEvent) => void;
  readonly #sessions = new Set<Session>();
  readonly #failNext = new Map<string, UniversalFailure[]>();
  #nextSession = 1;
  #nextMonitor = 1;
  #nextCrossRef = 1;
  #state: SimulatedPhoneState = 'Open';
  readonly #offDevice: () => void;

  constructor(options: SimulatedPhoneOptions) {
    if (options === null || typeof options !== 'object' || options.signalling === undefined)
      throw new UaCstaError('ERR_INVALID_ARG', 'options.signalling is required');
    const profile = typeof options.profile === 'string' ? phoneProfile(options.profile) : (options.profile ?? PHONE_PROFILES.generic);
    if (profile === undefined) throw new UaCstaError('ERR_INVALID_ARG', `unknown profile '${String(options.profile)}'`);
    this.profile = profile;
    const lines = options.lines ?? options.signalling.lines ?? [options.signalling.address];
    if (lines.length < profile.lines)
      throw new UaCstaError('ERR_INVALID_ARG', `profile '${profile.name}' has ${profile.lines} lines; ${lines.length} deviceIDs given`);
    this.#clock = options.clock ?? systemClock;
    this.#edition = profile.replyEdition ?? options.edition ?? 'ed3';
    this.#maxMonitors = options.maxMonitorsPerSession ?? PHONE_LIMITS.maxMonitorsPerSession;
    this.#maxQueued = options.maxQueuedEventsPerSession ?? PHONE_LIMITS.maxQueuedEventsPerSession;
    this.#trace = options.trace ?? (() => {});
    this.device = new PhoneDevice({
      lines,
      signalling: options.signalling,
      clock: this.#clock,
      ...pick(options, ['maxCallsPerLine', 'ringIntervalMs', 'defaultRingCount', 'autoAnswer', 'autoAnswerAfterMs', 'prompt', 'clearFailedCalls']),
    });
    this.#offDevice = this.device.onEvent((e) => this.#fanOut(e));
    this.control = this.#makeControl();
  }

  get state(): SimulatedPhoneState {
    return this.#state;
  }

  /** The lines' deviceIDs. */
  get lines(): readonly string[] {
    return this.device.lines.map((l) => l.deviceID);
  }

  /** Open CSTA sessions on the phone. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * Serves a CSTA session on `channel` (one association: every request it carries, events to
   * its monitors). Returns the server; it ends with the channel.
   */
  attach(channel: CstaChannel): CstaServer {
    if (this.#state !== 'Open') throw new UaCstaError('ERR_INVALID_STATE', 'the phone is closed');
    const id = this.#nextSession++;
    const holder: { session?: Session } = {};
    const server = new CstaServer({
      channel: this.#gate(channel, () => holder.session),
      edition: this.#edition,
      trace: (event) => this.#safeTrace({ type: 'server', session: id, event }),
    });
    const session: Session = { id, server, monitors: new Map(), queue: [], busy: 0, pumping: false, closed: false };
    holder.session = session;
    this.#sessions.add(session);
    channel.onClosed(() => this.#endSession(session));
    this.#register(session);
    this.#safeTrace({ type: 'session-opened', session: id });
    return server;
  }

  /** Ends every session (BYE) and stops the call model. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'Closed') return;
    this.#state = 'Closed';
    this.#offDevice();
    this.device.close();
    const servers = [...this.#sessions].map((s) => s.server);
    for (const s of [...this.#sessions]) this.#endSession(s);
    await Promise.all(servers.map((s) => s.close()));
  }

  // ---- services --------------------------------------------------------------------------

  #register(session: Session): void {
    const d = this.device;
    const server = session.server;
    const allowed = this.profile.services;
    const on = <K extends keyof CstaServiceMap & string>(service: K, fn: (req: CstaServiceMap[K]['request']) => CstaServiceMap[K]['response']): void => {
      if (allowed !== undefined && !allowed.includes(service)) return;
      server.handle(service, (req) => {
        const queued = this.#failNext.get(service);
        const failure = queued?.shift();
        if (queued !== undefined && queued.length === 0) this.#failNext.delete(service);
        if (failure !== undefined) throw new CstaServiceError(failure);
        return fn(req);
      });
    };
    on('MakeCall', (r) => d.makeCall(r));
    on('AnswerCall', (r) => (d.answerCall(r), { type: 'AnswerCallResponse' }));
    on('ClearConnection', (r) => (d.clearConnection(r), { type: 'ClearConnectionResponse' }));
    on('ClearCall', (r) => (d.clearCall(r), { type: 'ClearCallResponse' }));
    on('HoldCall', (r) => (d.holdCall(r), { type: 'HoldCallResponse' }));
    on('RetrieveCall', (r) => (d.retrieveCall(r), { type: 'RetrieveCallResponse' }));
    on('ConsultationCall', (r) => d.consultationCall(r));
    on('AlternateCall', (r) => (d.alternateCall(r), { type: 'AlternateCallResponse' }));
    on('ReconnectCall', (r) => (d.reconnectCall(r), { type: 'ReconnectCallResponse' }));
    on('TransferCall', (r) => d.transferCall(r));
    on('SingleStepTransferCall', (r) => d.singleStepTransferCall(r));
    on('ConferenceCall', (r) => d.conferenceCall(r));
    on('DeflectCall', (r) => (d.deflectCall(r), { type: 'DeflectCallResponse' }));
    on('GenerateDigits', (r) => (d.generateDigits(r), { type: 'GenerateDigitsResponse' }));
    on('SetDoNotDisturb', (r) => (d.setDoNotDisturb(r), { type: 'SetDoNotDisturbResponse' }));
    on('GetDoNotDisturb', (r) => d.getDoNotDisturb(r.device));
    on('SetForwarding', (r) => (d.setForwarding(r), { type: 'SetForwardingResponse' }));
    on('GetForwarding', (r) => d.getForwarding(r.device));
    on('SetMicrophoneMute', (r) => (d.setMicrophoneMute(r), { type: 'SetMicrophoneMuteResponse' }));
    on('GetMicrophoneMute', (r) => d.getMicrophoneMute(r.device));
    on('SetSpeakerVolume', (r) => (d.setSpeakerVolume(r), { type: 'SetSpeakerVolumeResponse' }));
    on('GetSpeakerVolume', (r) => d.getSpeakerVolume(r.device));
    on('SnapshotDevice', (r) => d.snapshotDevice(r.snapshotObject));
    on('SnapshotCall', (r) => d.snapshotCall(r));
    on('RequestSystemStatus', () => ({ type: 'RequestSystemStatusResponse', systemStatus: 'normal' }));
    on('MonitorStart', (r) => {
      if (!('deviceObject' in r.monitorObject)) throw new CstaServiceError({ operation: 'invalidMonitorObjectType' });
      if (r.monitorType !== undefined && r.monitorType !== 'device') throw new CstaServiceError({ operation: 'monitorTypeNotSupported' });
      const line = d.lineOf(r.monitorObject.deviceObject) ?? failWith({ operation: 'invalidDeviceID' });
      if (session.monitors.size >= this.#maxMonitors) throw new CstaServiceError({ subscribedResourceAvailability: 'objectMonitorLimitExceeded' });
      const id = this.profile.monitorCrossRefIDs === 'line-index' ? String(line.index) : String(this.#nextMonitor++);
      session.monitors.set(id, line);
      return { type: 'MonitorStartResponse', monitorCrossRefID: id, monitorExistingCalls: true };
    });
    on('MonitorStop', (r) => {
      if (!session.monitors.delete(r.monitorCrossRefID)) throw new CstaServiceError({ operation: 'invalidMonitorCrossRefID' });
      return { type: 'MonitorStopResponse' };
    });
    on('GetSwitchingFunctionDevices', (r) => {
      const wanted = r.requestedDeviceID === undefined ? undefined : deviceText(r.requestedDeviceID);
      const lines = wanted === undefined ? d.lines : d.lines.filter((l) => l === d.lineOf(wanted));
      if (lines.length === 0) throw new CstaServiceError({ operation: 'invalidDeviceID' });
      if (r.requestedDeviceCategory !== undefined && r.requestedDeviceCategory !== 'station')
        throw new CstaServiceError({ operation: 'invalidParameterValue' });
      const serviceCrossRefID = `sfd${this.#nextCrossRef++}`;
      // the list follows in an INFO of its own, after the response (digest §4.2, Example 11)
      this.#enqueue(session, {
        type: 'SwitchingFunctionDevices',
        serviceCrossRefID,
        lastSegment: true,
        deviceList: lines.map((l) => ({ deviceID: l.deviceID })),
      } as unknown as CstaEvent);
      return { type: 'GetSwitchingFunctionDevicesResponse', serviceCrossRefID };
    });
  }

  // ---- events ----------------------------------------------------------------------------

  #fanOut({ line, event }: LineEvent): void {
    const feature = FEATURE_EVENTS.has(event.type);
    if (feature ? !this.profile.featureEvents : !this.profile.callEvents) return;
    for (const session of this.#sessions) {
      for (const [monitorCrossRefID, monitored] of session.monitors) {
        if (monitored !== line) continue;
        this.#enqueue(session, { ...(event as DeviceEvent), monitorCrossRefID } as CstaEvent);
      }
    }
  }

  #enqueue(session: Session, event: CstaEvent): void {
    if (session.closed) return;
    if (session.queue.length >= this.#maxQueued) {
      // dropping events would leave the controller with a wrong picture it cannot detect; ending
      // the session makes it re-open, re-sync and report the gap (digest §1.8, association recovery)
      this.#safeTrace({
        type: 'session-overflow',
        session: session.id,
        queued: session.queue.length,
        reason: `${this.#maxQueued} events wait for the controller (maxQueuedEventsPerSession); the session is ended`,
      });
      session.queue.length = 0;
      void session.server.close();
      return;
    }
    session.queue.push(event);
    void this.#pump(session);
  }

  async #pump(session: Session): Promise<void> {
    if (session.pumping) return;
    session.pumping = true;
    try {
      while (session.busy === 0 && !session.closed && session.queue.length > 0) {
        const event = session.queue.shift()!;
        try {
          await session.server.emit(event);
        } catch (error) {
          this.#safeTrace({ type: 'event-failed', session: session.id, event: event.type, error });
          if (suspect(error)) {
            // digest §1.7: a 408 or a timeout on an in-dialog request makes the session suspect;
            // the controller that vanished without BYE (and without session timers) would
            // otherwise keep this session, and its monitors, for ever. It re-opens if alive.
            void session.server.close();
            return;
          }
        }
      }
    } finally {
      session.pumping = false;
    }
  }

  /**
   * The channel as the session's server sees it: while a request is being answered the session's
   * events wait, and they resume one clock turn after the answer was handed to the binding, so
   * the response leaves first. With a profile edition, replies are rewritten into it.
   */
  #gate(channel: CstaChannel, session: () => Session | undefined): CstaChannel {
    const replyEdition = this.profile.replyEdition;
    return {
      get state() {
        return channel.state;
      },
      send: (body) => channel.send(body),
      onClosed: (listener) => channel.onClosed(listener),
      close: () => channel.close(),
      onRequest: (handler) =>
        channel.onRequest(async (request) => {
          const s = session();
          if (s !== undefined) s.busy++;
          try {
            const answer = await handler(request);
            return replyEdition === undefined ? answer : rewriteEdition(answer, replyEdition);
          } finally {
            if (s !== undefined)
              this.#clock.setTimeout(() => {
                s.busy--;
                void this.#pump(s);
              }, 0);
          }
        }),
    };
  }

  #endSession(session: Session): void {
    if (session.closed) return;
    session.closed = true;
    session.queue.length = 0;
    session.monitors.clear();
    this.#sessions.delete(session);
    this.#safeTrace({ type: 'session-closed', session: session.id });
  }

  // ---- lab controls ----------------------------------------------------------------------

  #makeControl(): PhoneControl {
    const d = this.device;
    const lineAt = (i: number | undefined): PhoneLine => {
      const line = d.lines[i ?? 0];
      if (line === undefined) throw new UaCstaError('ERR_INVALID_ARG', `the phone has no line ${String(i)}`);
      return line;
    };
    return {
      offHook: (line) => d.offHook(lineAt(line)),
      dial: (number, line) => d.dial(number, lineAt(line)),
      ring: (from, line) => d.ring(from, lineAt(line)),
      answer: (callID) => d.answer(callID),
      hangUp: (callID) => d.hangUp(callID),
      hold: (callID) => d.hold(callID),
      retrieve: (callID) => d.retrieve(callID),
      setDoNotDisturb: (on, line) => d.setDnd(lineAt(line), on),
      setForwarding: (type, forwardDN, ringCount, line) => d.setForwardingOf(lineAt(line), type, forwardDN, ringCount),
      setAutoAnswer: (on) => {
        d.autoAnswer = on;
      },
      failNext: (service, errorValue) => {
        if (typeof service !== 'string' || errorValue === null || typeof errorValue !== 'object')
          throw new UaCstaError('ERR_INVALID_ARG', 'failNext(service, errorValue) needs a service name and a CSTAErrorCode choice');
        const list = this.#failNext.get(service) ?? [];
        list.push(errorValue);
        this.#failNext.set(service, list);
      },
      input: (input) => d.input(input),
    };
  }

  #safeTrace(event: SimulatedPhoneTraceEvent): void {
    try {
      this.#trace(event);
    } catch {
      // a trace sink that throws must not break the phone
    }
  }
}

function failWith(errorValue: UniversalFailure): never {
  throw new CstaServiceError(errorValue);
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** The same answer written in `edition` (a profile that always answers ed5, digest §7.6). */
function rewriteEdition(answer: CstaChannelAnswer, edition: Edition): CstaChannelAnswer {
  if (answer.body === undefined || answer.body === '') return answer;
  const parsed = parseCsta(answer.body);
  if (!parsed.ok) return answer;
  try {
    return { ...answer, body: serializeCsta(parsed.value, { edition }) };
  } catch {
    return answer;
  }
}
