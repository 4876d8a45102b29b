/**
 * `SipJsCstaPhone`: makes a sip.js softphone the switching function of uaCSTA (ECMA TR/87;
 * ECMA-269 services on the softphone's own calls).
 *
 * @remarks
 * Takes the uaCSTA sessions controllers open to the phone ({@link acceptSipJsCstaChannels}), puts
 * a {@link CstaServer} on each, and maps the services onto the softphone's sip.js api sessions:
 * MakeCall → `Inviter`, AnswerCall → `Invitation.accept`, ClearConnection → `bye`/`cancel`/
 * `reject`, HoldCall/RetrieveCall → re-INVITE with the SDP direction `sendonly`/`sendrecv`,
 * GenerateDigits → RFC 4733 (or INFO `application/dtmf-relay` where no RTP DTMF sender exists),
 * SingleStepTransferCall → REFER (RFC 3515), Set/GetDoNotDisturb, Set/GetMicrophoneMute. The
 * events (ECMA-269 §15 call control, §19 physical device, §20 logical device) are derived from
 * the sessions' state changes and sent to every monitor. Requests for other services get the
 * `CstaServer`'s `serviceNotSupported`, never a silent 200.
 *
 * A REFER received on one of the phone's calls (it is the transferee) is accepted and followed
 * with a new call the monitors see, unless the app set its own `onRefer` on that session.
 *
 * Calls the softphone's user makes or takes on the page are seen too: incoming `Invitation`s are
 * observed through the `UserAgent` delegate (the app's own `onInvite` still runs), and an
 * outgoing session the app creates itself is reported with {@link SipJsCstaPhone.track}.
 */

import { Inviter, SessionState, UserAgent, type Invitation, type InviterOptions, type Referral, type Session, type UserAgentDelegate } from 'sip.js';
import type {
  ConnectionID,
  CstaMessage,
  DeviceID,
  EventCause,
  ExtendedDeviceID,
  LocalConnectionState,
  OperationErrors,
  StateIncompatibilityErrors,
} from '../../csta/model/types.js';
import { UaCstaError } from '../../errors.js';
import type { CstaEvent } from '../../uacsta/client.js';
import { CstaServiceError } from '../../uacsta/errors.js';
import { CstaServer } from '../../uacsta/server.js';
import { Emitter } from '../../util/emitter.js';
import { acceptSipJsCstaChannels } from './sipjs-csta-sessions.js';
import type { SipJsCstaChannel } from './sipjs-csta-channel.js';

/** The state of one call at this phone, as the page shows it. */
export type SipJsCallState = 'Initiated' | 'Alerting' | 'Delivered' | 'Established' | 'Held' | 'Cleared';

/** One call of the phone. */
export interface SipJsCall {
  /** The CSTA callID this phone gave the call. */
  readonly callID: string;
  readonly direction: 'outgoing' | 'incoming';
  /** The other party's device (the user part of its URI). */
  readonly remoteDevice: string;
  readonly state: SipJsCallState;
  readonly session: Session;
}

/** Notifications of a {@link SipJsCstaPhone} (for the page). */
export interface SipJsCstaPhoneEvents {
  /** Calls, controllers, DND or mute changed. */
  change: void;
  /** A session the phone created (MakeCall), so the page can attach its media. */
  session: Session;
  /** Every CSTA event the phone sent (to any monitor). */
  event: CstaEvent;
}

/** What the phone reports through `trace`. */
export type SipJsCstaPhoneTraceEvent =
  | { readonly type: 'emit-failed'; readonly event: string; readonly error: unknown }
  | { readonly type: 'error'; readonly error: unknown };

/** Options of {@link SipJsCstaPhone}. */
export interface SipJsCstaPhoneOptions {
  /** The softphone's user agent (not started yet, or started: both work). */
  readonly ua: UserAgent;
  /** This phone's device ID in CSTA. @defaultValue the user part of the UA's URI */
  readonly device?: string;
  /** From a dialled number to the URI to call. @defaultValue `sip:<number>@<UA's domain>` */
  readonly dialTarget?: (number: string) => string;
  /** Options of every `Inviter` the phone creates (media constraints, SDH options). */
  readonly inviterOptions?: InviterOptions;
  /** Milliseconds per DTMF tone for GenerateDigits without `toneDuration`. @defaultValue 100 */
  readonly toneDurationMs?: number;
  readonly trace?: (event: SipJsCstaPhoneTraceEvent) => void;
}

interface CallRecord {
  readonly callID: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly remoteDevice: string;
  state: SipJsCallState;
  readonly session: Session;
  releasedLocally: boolean;
  clearCause: EventCause;
  /** Transferred away by SingleStepTransferCall: its Transfered event stands for the clearing. */
  transferredAway: boolean;
}

interface Association {
  readonly channel: SipJsCstaChannel;
  readonly server: CstaServer;
  readonly monitors: Set<string>;
}

const text = (d: DeviceID | undefined): string => (d === undefined ? '' : typeof d === 'string' ? d : d.value);
const dev = (d: string): ExtendedDeviceID => ({ deviceIdentifier: d });
const fail = (operation: OperationErrors): CstaServiceError => new CstaServiceError({ operation });
const state = (value: StateIncompatibilityErrors): CstaServiceError => new CstaServiceError({ stateIncompatibility: value });

/** The user part of a sip.js URI-like value, or its text. */
function userOf(uri: { user?: string | undefined; toString(): string }): string {
  return uri.user ?? uri.toString();
}

/**
 * A sip.js softphone that uaCSTA controllers can control and monitor.
 *
 * @example
 * const ua = new UserAgent({ uri, transportOptions: { server: 'wss://proxy.example.com' }, delegate });
 * const phone = new SipJsCstaPhone({ ua });
 * phone.on('change', render);
 * await ua.start();
 */
export class SipJsCstaPhone {
  readonly #ua: UserAgent;
  readonly #device: string;
  readonly #dialTarget: (number: string) => string;
  readonly #inviterOptions: InviterOptions;
  readonly #toneMs: number;
  readonly #trace: (event: SipJsCstaPhoneTraceEvent) => void;
  readonly #emitter: Emitter<SipJsCstaPhoneEvents>;
  readonly #calls = new Map<string, CallRecord>();
  readonly #bySession = new Map<Session, CallRecord>();
  readonly #associations = new Set<Association>();
  readonly #stopAccepting: () => void;
  readonly #appDelegate: UserAgentDelegate | undefined;
  #nextCall = 1;
  #nextMonitor = 1;
  #dnd = false;
  #muted = false;
  #closed = false;

  constructor(options: SipJsCstaPhoneOptions) {
    if (options === null || typeof options !== 'object' || !(options.ua instanceof UserAgent))
      throw new UaCstaError('ERR_INVALID_ARG', 'options.ua must be a sip.js UserAgent');
    const ua = options.ua;
    this.#ua = ua;
    const uri = ua.configuration.uri;
    this.#device = options.device ?? uri.user ?? '';
    this.#dialTarget = options.dialTarget ?? ((n) => `sip:${n}@${uri.host}${uri.port === undefined ? '' : `:${uri.port}`}`);
    this.#inviterOptions = options.inviterOptions ?? {};
    this.#toneMs = options.toneDurationMs ?? 100;
    this.#trace = options.trace ?? (() => {});
    this.#emitter = new Emitter((error) => this.#safeTrace({ type: 'error', error }));
    // incoming calls: observe the Invitation, then hand it to the app's delegate as before
    this.#appDelegate = ua.delegate;
    const app = ua.delegate;
    ua.delegate = {
      ...app,
      onInvite: (invitation: Invitation) => {
        if (this.#dnd && !this.#closed) {
          void invitation.reject({ statusCode: 486 }).catch(() => {});
          return;
        }
        this.#incoming(invitation);
        app?.onInvite?.(invitation);
      },
    };
    this.#stopAccepting = acceptSipJsCstaChannels(ua, (channel) => this.#associate(channel));
  }

  /** This phone's device ID. */
  get device(): string {
    return this.#device;
  }

  /** The controllers with an open uaCSTA session to this phone (their AoRs). */
  get controllers(): readonly string[] {
    return [...this.#associations].map((a) => a.channel.remoteIdentity);
  }

  /** The calls not cleared yet. */
  get calls(): readonly SipJsCall[] {
    return [...this.#calls.values()].map((c) => ({ ...c }));
  }

  get doNotDisturb(): boolean {
    return this.#dnd;
  }

  get microphoneMuted(): boolean {
    return this.#muted;
  }

  on<K extends keyof SipJsCstaPhoneEvents>(type: K, fn: (value: SipJsCstaPhoneEvents[K]) => void): () => void {
    return this.#emitter.on(type, fn);
  }

  /** Calls `number` from this phone (the dial pad and MakeCall both come here). */
  makeCall(number: string): SipJsCall {
    if (this.#closed) throw new UaCstaError('ERR_INVALID_STATE', 'the phone is closed');
    const target = UserAgent.makeURI(this.#dialTarget(number));
    if (target === undefined) throw new UaCstaError('ERR_INVALID_ARG', `cannot call '${number}'`);
    return this.#place(new Inviter(this.#ua, target, this.#inviterOptions), number);
  }

  /** Tracks and sends an outgoing INVITE (MakeCall, the dial pad, a REFER being followed). */
  #place(inviter: Inviter, number: string): SipJsCall {
    const call = this.#track(inviter, 'outgoing', number);
    this.#emitter.emit('session', inviter);
    this.#emitAll((x) => ({
      type: 'ServiceInitiatedEvent',
      monitorCrossRefID: x,
      initiatedConnection: this.#own(call),
      initiatingDevice: dev(this.#device),
      localConnectionInfo: 'initiated',
      cause: 'newCall',
    }));
    inviter
      .invite({
        requestDelegate: {
          onProgress: (response) => {
            const status = response.message.statusCode ?? 0;
            if ((status === 180 || status === 183) && call.state === 'Initiated') this.#delivered(call);
          },
        },
      })
      .then(() => {
        if (call.state !== 'Initiated') return;
        this.#emitAll((x) => ({
          type: 'OriginatedEvent',
          monitorCrossRefID: x,
          originatedConnection: this.#own(call),
          callingDevice: dev(this.#device),
          calledDevice: dev(call.remoteDevice),
          localConnectionInfo: 'connected',
          cause: 'newCall',
        }));
      })
      .catch((error: unknown) => this.#safeTrace({ type: 'error', error }));
    return { ...call };
  }

  /**
   * Reports an outgoing session the app created itself (its own `Inviter`), so monitors see it.
   * Returns the call's CSTA callID.
   */
  track(session: Session, remoteDevice: string): string {
    return (this.#bySession.get(session) ?? this.#track(session, 'outgoing', remoteDevice)).callID;
  }

  /** Sets Do Not Disturb (incoming calls are refused 486) and tells the monitors. */
  setDoNotDisturb(on: boolean): void {
    this.#dnd = on;
    this.#emitAll((x) => ({ type: 'DoNotDisturbEvent', monitorCrossRefID: x, device: dev(this.#device), doNotDisturbOn: on }));
    this.#changed();
  }

  /** Mutes or unmutes the microphone on every call (sender tracks disabled) and tells the monitors. */
  setMicrophoneMute(on: boolean): void {
    this.#muted = on;
    for (const c of this.#calls.values()) this.#applyMute(c.session);
    this.#emitAll((x) => ({
      type: 'MicrophoneMuteEvent',
      monitorCrossRefID: x,
      invokingDevice: dev(this.#device),
      auditoryApparatus: '1',
      microphoneMuteOn: on,
    }));
    this.#changed();
  }

  /** Stops taking uaCSTA sessions and ends the open ones (BYE); calls are left alone. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopAccepting();
    if (this.#appDelegate !== undefined || this.#ua.delegate !== undefined) this.#ua.delegate = this.#appDelegate;
    await Promise.all([...this.#associations].map((a) => a.server.close()));
    this.#associations.clear();
    this.#changed();
  }

  // --- uaCSTA sessions -----------------------------------------------------------------------

  #associate(channel: SipJsCstaChannel): void {
    if (this.#closed) return;
    const server = new CstaServer({ channel });
    const assoc: Association = { channel, server, monitors: new Set() };
    this.#associations.add(assoc);
    channel.onClosed(() => {
      this.#associations.delete(assoc);
      this.#changed();
    });
    server.handle('RequestSystemStatus', () => ({ type: 'RequestSystemStatusResponse', systemStatus: 'normal' }));
    server.handle('MonitorStart', (req) => {
      const object = req.monitorObject;
      if (!('deviceObject' in object)) throw fail('invalidParameterValue');
      if (text(object.deviceObject) !== this.#device) throw fail('invalidDeviceID');
      const id = String(this.#nextMonitor++);
      assoc.monitors.add(id);
      return { type: 'MonitorStartResponse', monitorCrossRefID: id };
    });
    server.handle('MonitorStop', (req) => {
      if (!assoc.monitors.delete(req.monitorCrossRefID)) throw fail('invalidMonitorCrossRefID');
      return { type: 'MonitorStopResponse' };
    });
    server.handle('MakeCall', (req) => {
      if (text(req.callingDevice) !== this.#device) throw fail('invalidCallingDeviceID');
      const called = text(req.calledDirectoryNumber);
      if (called === '') throw fail('invalidCalledDeviceID');
      const call = this.makeCall(called);
      return { type: 'MakeCallResponse', callingDevice: { callID: call.callID, deviceID: this.#device } };
    });
    server.handle('AnswerCall', async (req) => {
      const call = this.#callOf(req.callToBeAnswered);
      if (call.direction !== 'incoming' || call.session.state !== SessionState.Initial) throw state('invalidObjectState');
      await (call.session as Invitation).accept();
      return { type: 'AnswerCallResponse' };
    });
    server.handle('ClearConnection', async (req) => {
      const call = this.#callOf(req.connectionToBeCleared);
      await this.#clear(call);
      return { type: 'ClearConnectionResponse' };
    });
    server.handle('HoldCall', async (req) => {
      const call = this.#callOf(req.callToBeHeld);
      if (call.state !== 'Established') throw state('invalidObjectState');
      await this.#reinvite(call, true);
      return { type: 'HoldCallResponse' };
    });
    server.handle('RetrieveCall', async (req) => {
      const call = this.#callOf(req.callToBeRetrieved);
      if (call.state !== 'Held') throw state('invalidObjectState');
      await this.#reinvite(call, false);
      return { type: 'RetrieveCallResponse' };
    });
    server.handle('GenerateDigits', async (req) => {
      const call = this.#callOf(req.connectionToSendDigits);
      if (call.state !== 'Established') throw state('invalidObjectState');
      const digits = req.charactersToSend;
      if (!/^[0-9*#A-Da-d]+$/.test(digits)) throw fail('invalidParameterValue');
      await this.#dtmf(call, digits, req.toneDuration ?? this.#toneMs);
      return { type: 'GenerateDigitsResponse' };
    });
    server.handle('SingleStepTransferCall', async (req) => {
      const call = this.#callOf(req.activeCall);
      if (call.state !== 'Established') throw state('invalidObjectState');
      const to = UserAgent.makeURI(this.#dialTarget(text(req.transferredTo)));
      if (to === undefined) throw fail('invalidDeviceID');
      await new Promise<void>((resolve, reject) => {
        call.session
          .refer(to, {
            requestDelegate: {
              onAccept: () => resolve(),
              onReject: (r) => reject(fail(r.message.statusCode === 405 || r.message.statusCode === 501 ? 'requestIncompatibleWithObject' : 'generic')),
            },
          })
          .catch(reject);
      });
      // the transferred party now calls the target itself; this phone leaves the call: the
      // transferring device sees Transfered (`null`, singleStepTransfer), no ConnectionCleared
      // (ECMA-269 §17.2.20; digest "blind transfer" flow)
      const target = text(req.transferredTo);
      call.clearCause = 'singleStepTransfer';
      call.transferredAway = true;
      this.#emitAll((x) => ({
        type: 'TransferedEvent',
        monitorCrossRefID: x,
        primaryOldCall: this.#own(call),
        transferringDevice: dev(this.#device),
        transferredToDevice: dev(target),
        transferredConnections: [{ newConnection: { callID: call.callID, deviceID: target }, oldConnection: { callID: call.callID, deviceID: call.remoteDevice } }],
        localConnectionInfo: 'null',
        cause: 'singleStepTransfer',
      }));
      await this.#clear(call);
      return { type: 'SingleStepTransferCallResponse', transferredCall: { callID: call.callID, deviceID: target } };
    });
    server.handle('SetDoNotDisturb', (req) => {
      if (text(req.device) !== this.#device) throw fail('invalidDeviceID');
      this.setDoNotDisturb(req.doNotDisturbOn);
      return { type: 'SetDoNotDisturbResponse' };
    });
    server.handle('GetDoNotDisturb', (req) => {
      if (text(req.device) !== this.#device) throw fail('invalidDeviceID');
      return { type: 'GetDoNotDisturbResponse', doNotDisturbOn: this.#dnd };
    });
    server.handle('SetMicrophoneMute', (req) => {
      if (text(req.device) !== this.#device) throw fail('invalidDeviceID');
      this.setMicrophoneMute(req.microphoneMuteOn);
      return { type: 'SetMicrophoneMuteResponse' };
    });
    server.handle('GetMicrophoneMute', (req) => {
      if (text(req.device) !== this.#device) throw fail('invalidDeviceID');
      return { type: 'GetMicrophoneMuteResponse', microphoneMuteList: [{ auditoryApparatus: '1', microphoneMuteOn: this.#muted }] };
    });
    this.#changed();
  }

  #callOf(connection: ConnectionID): CallRecord {
    const call = connection.callID === undefined ? undefined : this.#calls.get(connection.callID);
    if (call === undefined) throw fail('invalidCallID');
    if (connection.deviceID !== undefined && text(connection.deviceID) !== this.#device) throw fail('invalidConnectionID');
    return call;
  }

  // --- calls ---------------------------------------------------------------------------------

  #incoming(invitation: Invitation): void {
    const call = this.#track(invitation, 'incoming', userOf(invitation.remoteIdentity.uri));
    call.state = 'Alerting';
    this.#emitAll((x) => ({
      type: 'DeliveredEvent',
      monitorCrossRefID: x,
      connection: this.#own(call),
      alertingDevice: dev(this.#device),
      callingDevice: dev(call.remoteDevice),
      calledDevice: dev(this.#device),
      lastRedirectionDevice: { notRequired: true },
      localConnectionInfo: 'alerting',
      cause: 'newCall',
    }));
    this.#changed();
  }

  #track(session: Session, direction: 'outgoing' | 'incoming', remoteDevice: string): CallRecord {
    const callID = `c${this.#nextCall++}`;
    const call: CallRecord = {
      callID,
      direction,
      remoteDevice,
      state: 'Initiated',
      session,
      releasedLocally: false,
      clearCause: 'normalClearing',
      transferredAway: false,
    };
    this.#calls.set(callID, call);
    this.#bySession.set(session, call);
    session.stateChange.addListener((s) => this.#onState(call, s));
    // RFC 3515: a REFER on one of our calls (we are the transferee) is followed by a call the
    // monitors see; the app's own onRefer, when it set one, wins
    if (session.delegate?.onRefer === undefined) session.delegate = { ...session.delegate, onRefer: (referral) => this.#followReferral(call, referral) };
    this.#changed();
    return call;
  }

  #onState(call: CallRecord, s: SessionState): void {
    if (s === SessionState.Established) {
      if (call.state === 'Initiated') this.#delivered(call); // a 2xx without a 18x before it
      call.state = 'Established';
      this.#applyMute(call.session);
      const answering = call.direction === 'outgoing' ? call.remoteDevice : this.#device;
      const calling = call.direction === 'outgoing' ? this.#device : call.remoteDevice;
      this.#emitAll((x) => ({
        type: 'EstablishedEvent',
        monitorCrossRefID: x,
        establishedConnection: { callID: call.callID, deviceID: answering },
        answeringDevice: dev(answering),
        callingDevice: dev(calling),
        calledDevice: dev(answering),
        lastRedirectionDevice: { notRequired: true },
        localConnectionInfo: 'connected',
        cause: 'newCall',
      }));
      this.#changed();
    } else if (s === SessionState.Terminated) {
      const was = call.state;
      call.state = 'Cleared';
      this.#calls.delete(call.callID);
      this.#bySession.delete(call.session);
      const cause: EventCause =
        call.clearCause !== 'normalClearing'
          ? call.clearCause
          : was === 'Established' || was === 'Held'
            ? 'normalClearing'
            : call.releasedLocally || call.direction === 'incoming'
              ? 'callCancelled'
              : 'busy';
      // a call transferred away was reported by its Transfered event already
      if (!call.transferredAway) {
        // the far end released: its connection first, then ours (the softphone goes idle)
        if (!call.releasedLocally) this.#emitAll((x) => this.#cleared(call, call.remoteDevice, 'null', cause, x));
        this.#emitAll((x) => this.#cleared(call, this.#device, 'null', cause, x));
      }
      this.#changed();
    }
  }

  /** Accepts a REFER (202) and calls its Refer-To target; the referrer then leaves the old call. */
  #followReferral(call: CallRecord, referral: Referral): void {
    if (this.#closed) return;
    call.clearCause = 'singleStepTransfer';
    const to = userOf(referral.referTo.uri);
    referral
      .accept()
      .then(() => this.#place(referral.makeInviter(this.#inviterOptions), to))
      .catch((error: unknown) => this.#safeTrace({ type: 'error', error }));
  }

  #cleared(call: CallRecord, device: string, local: LocalConnectionState, cause: EventCause, x: string): CstaEvent {
    return {
      type: 'ConnectionClearedEvent',
      monitorCrossRefID: x,
      droppedConnection: { callID: call.callID, deviceID: device },
      releasingDevice: dev(device),
      localConnectionInfo: local,
      cause,
    };
  }

  #delivered(call: CallRecord): void {
    call.state = 'Delivered';
    this.#emitAll((x) => ({
      type: 'DeliveredEvent',
      monitorCrossRefID: x,
      connection: { callID: call.callID, deviceID: call.remoteDevice },
      alertingDevice: dev(call.remoteDevice),
      callingDevice: dev(this.#device),
      calledDevice: dev(call.remoteDevice),
      lastRedirectionDevice: { notRequired: true },
      localConnectionInfo: 'connected',
      cause: 'newCall',
    }));
    this.#changed();
  }

  async #clear(call: CallRecord): Promise<void> {
    const s = call.session;
    call.releasedLocally = true;
    if (s.state === SessionState.Established) {
      await s.bye();
    } else if (s.state === SessionState.Initial || s.state === SessionState.Establishing) {
      if (call.direction === 'outgoing') await (s as Inviter).cancel();
      else await (s as Invitation).reject({ statusCode: 603 });
    } else {
      throw state('invalidObjectState');
    }
  }

  #reinvite(call: CallRecord, hold: boolean): Promise<void> {
    const s = call.session;
    s.sessionDescriptionHandlerOptionsReInvite = { ...s.sessionDescriptionHandlerOptionsReInvite, hold } as typeof s.sessionDescriptionHandlerOptionsReInvite;
    return new Promise<void>((resolve, reject) => {
      s.invite({
        requestDelegate: {
          onAccept: () => {
            call.state = hold ? 'Held' : 'Established';
            const c = this.#own(call);
            this.#emitAll((x) =>
              hold
                ? { type: 'HeldEvent', monitorCrossRefID: x, heldConnection: c, holdingDevice: dev(this.#device), localConnectionInfo: 'hold', cause: 'newCall' }
                : { type: 'RetrievedEvent', monitorCrossRefID: x, retrievedConnection: c, retrievingDevice: dev(this.#device), localConnectionInfo: 'connected', cause: 'newCall' },
            );
            this.#changed();
            resolve();
          },
          onReject: () => reject(fail('generic')),
        },
      }).catch((error: unknown) => reject(error instanceof CstaServiceError ? error : state('invalidObjectState')));
    });
  }

  async #dtmf(call: CallRecord, digits: string, toneMs: number): Promise<void> {
    const sdh = call.session.sessionDescriptionHandler as { sendDtmf?: (t: string, o?: { duration: number; interToneGap: number }) => boolean } | undefined;
    // RFC 4733 telephone-event through the RTP sender when the media has one
    if (sdh?.sendDtmf?.(digits, { duration: toneMs, interToneGap: 70 }) === true) return;
    // else one INFO per digit (application/dtmf-relay, the de-facto SIP INFO DTMF format)
    for (const d of digits) {
      await call.session.info({
        requestOptions: {
          body: { contentDisposition: 'render', contentType: 'application/dtmf-relay', content: `Signal=${d}\r\nDuration=${toneMs}\r\n` },
        },
      });
    }
  }

  #applyMute(session: Session): void {
    const sdh = session.sessionDescriptionHandler as { enableSenderTracks?: (enable: boolean) => void } | undefined;
    try {
      sdh?.enableSenderTracks?.(!this.#muted);
    } catch (error) {
      this.#safeTrace({ type: 'error', error });
    }
  }

  #own(call: CallRecord): ConnectionID {
    return { callID: call.callID, deviceID: this.#device };
  }

  /** Sends an event to every monitor of every controller, and to the page. */
  #emitAll(build: (monitorCrossRefID: string) => CstaMessage): void {
    let forPage: CstaEvent | undefined;
    for (const a of this.#associations) {
      for (const x of a.monitors) {
        const event = build(x) as CstaEvent;
        forPage ??= event;
        a.server.emit(event).catch((error: unknown) => this.#safeTrace({ type: 'emit-failed', event: event.type, error }));
      }
    }
    this.#emitter.emit('event', forPage ?? (build('') as CstaEvent));
  }

  #changed(): void {
    this.#emitter.emit('change', undefined);
  }

  #safeTrace(event: SipJsCstaPhoneTraceEvent): void {
    try {
      this.#trace(event);
    } catch {
      // a trace sink that throws must not break protocol flow
    }
  }
}
