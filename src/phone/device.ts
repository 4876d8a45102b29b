/**
 * `PhoneDevice`: the pure call model of one simulated phone (ECMA-269 §6 connection states,
 * one or more lines, several calls per line), driven by CSTA services, by its signalling and by
 * lab controls, and reporting every change as CSTA events (digest §4.6, §5).
 *
 * @remarks
 * No I/O and no timers of its own: time comes from the injected {@link Clock} (forwarding on no
 * answer, auto-answer), calls are carried by the injected {@link CallSignalling}. Services
 * answer synchronously with their positive response or throw a {@link CstaServiceError} with the
 * digest's recommended error (§4.1.6); the events they cause are reported to the listener in
 * order, after the state change, so a binding can send the response first.
 */

import type {
  AlternateCall,
  AnswerCall,
  ClearCall,
  ClearConnection,
  ConferenceCall,
  ConferenceCallResponse,
  ConnectionID,
  ConnectionListItem,
  ConsultationCall,
  ConsultationCallResponse,
  DeflectCall,
  DeviceID,
  EventCause,
  ForwardListItem,
  GenerateDigits,
  GetDoNotDisturbResponse,
  GetForwardingResponse,
  GetMicrophoneMuteResponse,
  GetSpeakerVolumeResponse,
  HoldCall,
  MakeCall,
  MakeCallResponse,
  Known,
  ReconnectCall,
  RetrieveCall,
  SetDoNotDisturb,
  SetForwarding,
  SetMicrophoneMute,
  SetSpeakerVolume,
  SingleStepTransferCall,
  SingleStepTransferCallResponse,
  SnapshotCall,
  SnapshotCallResponse,
  SnapshotDeviceResponse,
  SnapshotDeviceResponseInfo,
  TransferCall,
  TransferCallResponse,
  UniversalFailure,
} from '../csta/model/types.js';
import { UaCstaError } from '../errors.js';
import { CstaServiceError } from '../uacsta/errors.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { CallEndCause, CallSignalling, CallSignallingInput } from './call-signalling.js';
import { clearedCause, connection, failedCause, redirection, subject, type ConnectionState, type DeviceEvent } from './call-model.js';
import { deviceText, dialledDevice, namesDevice } from './device-address.js';

/** One line (appearance) of the device. */
export interface PhoneLine {
  /** 0, 1, … in the order configured. */
  readonly index: number;
  /** The deviceID of the line, as events report it and controllers name it. */
  readonly deviceID: string;
}

/** An event of the device, and the line it belongs to. */
export interface LineEvent {
  readonly line: PhoneLine;
  readonly event: DeviceEvent;
}

/** The forwarding types the simulator applies (digest §4.7). */
export type AppliedForwarding = 'forwardImmediate' | 'forwardBusy' | 'forwardNoAns' | 'forwardDND';

/** Defaults of {@link PhoneDeviceOptions}. */
export const PHONE_DEVICE_DEFAULTS = {
  maxCallsPerLine: 4,
  ringIntervalMs: 6_000,
  defaultRingCount: 3,
  autoAnswerAfterMs: 0,
  speakerVolume: 50,
  auditoryApparatus: '1',
} as const;

/** Options of {@link PhoneDevice}. */
export interface PhoneDeviceOptions {
  /** The lines' deviceIDs, first is line 0; at least one. */
  readonly lines: readonly string[];
  readonly signalling: CallSignalling;
  readonly clock: Clock;
  /** Calls a line holds at once; an incoming call past it is busy. @defaultValue 4 */
  readonly maxCallsPerLine?: number;
  /** Time of one ring, for forwarding on no answer (`ringCount` rings). @defaultValue 6000 */
  readonly ringIntervalMs?: number;
  /** Rings before forwarding on no answer when SetForwarding gives no `ringCount`. @defaultValue 3 */
  readonly defaultRingCount?: number;
  /** Answer incoming calls by themselves after `autoAnswerAfterMs`. @defaultValue false */
  readonly autoAnswer?: boolean;
  /** @defaultValue 0 */
  readonly autoAnswerAfterMs?: number;
  /**
   * MakeCall with `autoOriginate` `prompt` (the default) waits for `offHook()` when `manual`;
   * `auto` dials at once as if `doNotPrompt` (what controllers expect, digest §4.5).
   * @defaultValue 'auto'
   */
  readonly prompt?: 'auto' | 'manual';
  /** Clear a failed call at once (Failed then ConnectionCleared), else stay in `fail`. @defaultValue true */
  readonly clearFailedCalls?: boolean;
}

interface Party {
  leg: string;
  remote: string;
  state: ConnectionState;
}

interface PendingTransfer {
  readonly kind: 'consulted' | 'single';
  readonly held: Call;
  readonly active: Call | undefined;
  readonly to: string;
}

interface Call {
  readonly callID: string;
  readonly line: PhoneLine;
  readonly direction: 'outgoing' | 'incoming';
  state: ConnectionState;
  calling: string;
  called: string;
  dialled: string;
  lastRedirection: string | undefined;
  parties: Party[];
  /** Cause of the ServiceInitiated/Originated pair still to come (offHook then dial). */
  originateCause: EventCause | undefined;
  transfer: PendingTransfer | undefined;
  /** This phone is the transferee: the far end asked it to call `to` on `newLeg`. */
  referred: { readonly newLeg: string; readonly to: string; readonly attended: boolean } | undefined;
  timer: TimerHandle | undefined;
}

interface LineFeatures {
  dnd: boolean;
  readonly forwarding: Map<AppliedForwarding, { forwardDN: string; ringCount: number | undefined }>;
  microphoneMute: boolean;
  speakerVolume: number;
}

const FORWARDING_TYPES: readonly AppliedForwarding[] = ['forwardImmediate', 'forwardBusy', 'forwardNoAns', 'forwardDND'];

function fail(errorValue: UniversalFailure): never {
  throw new CstaServiceError(errorValue);
}

/** The call model of one phone. */
export class PhoneDevice {
  readonly lines: readonly PhoneLine[];
  readonly #signalling: CallSignalling;
  readonly #clock: Clock;
  readonly #maxCallsPerLine: number;
  readonly #ringIntervalMs: number;
  readonly #defaultRingCount: number;
  readonly #autoAnswerAfterMs: number;
  readonly #prompt: 'auto' | 'manual';
  readonly #clearFailedCalls: boolean;
  #autoAnswer: boolean;
  readonly #calls = new Map<string, Call>();
  readonly #legs = new Map<string, Call>();
  readonly #features = new Map<PhoneLine, LineFeatures>();
  readonly #listeners = new Set<(e: LineEvent) => void>();
  readonly #digitsReceived: { leg: string; digits: string }[] = [];
  #nextCallID = 1;
  #nextRingLeg = 1;
  readonly #offInput: () => void;

  constructor(options: PhoneDeviceOptions) {
    if (options === null || typeof options !== 'object') throw new UaCstaError('ERR_INVALID_ARG', 'options are required');
    if (!Array.isArray(options.lines) || options.lines.length === 0 || options.lines.some((l) => typeof l !== 'string' || l === ''))
      throw new UaCstaError('ERR_INVALID_ARG', 'options.lines must list at least one deviceID');
    if (options.signalling === undefined) throw new UaCstaError('ERR_INVALID_ARG', 'options.signalling is required');
    if (options.clock === undefined) throw new UaCstaError('ERR_INVALID_ARG', 'options.clock is required');
    this.lines = options.lines.map((deviceID, index) => ({ index, deviceID }));
    this.#signalling = options.signalling;
    this.#clock = options.clock;
    this.#maxCallsPerLine = positive(options.maxCallsPerLine ?? PHONE_DEVICE_DEFAULTS.maxCallsPerLine, 'maxCallsPerLine');
    this.#ringIntervalMs = positive(options.ringIntervalMs ?? PHONE_DEVICE_DEFAULTS.ringIntervalMs, 'ringIntervalMs');
    this.#defaultRingCount = positive(options.defaultRingCount ?? PHONE_DEVICE_DEFAULTS.defaultRingCount, 'defaultRingCount');
    this.#autoAnswerAfterMs = options.autoAnswerAfterMs ?? PHONE_DEVICE_DEFAULTS.autoAnswerAfterMs;
    this.#autoAnswer = options.autoAnswer ?? false;
    this.#prompt = options.prompt ?? 'auto';
    this.#clearFailedCalls = options.clearFailedCalls ?? true;
    for (const line of this.lines)
      this.#features.set(line, { dnd: false, forwarding: new Map(), microphoneMute: false, speakerVolume: PHONE_DEVICE_DEFAULTS.speakerVolume });
    this.#offInput = this.#signalling.onInput((input) => this.input(input));
  }

  /** Adds a listener of the device's events; returns the function that removes it. */
  onEvent(listener: (e: LineEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops listening to the signalling and cancels timers. Idempotent. */
  close(): void {
    this.#offInput();
    for (const call of this.#calls.values()) this.#stopTimer(call);
  }

  /** Whether incoming calls are answered by themselves. */
  get autoAnswer(): boolean {
    return this.#autoAnswer;
  }

  set autoAnswer(on: boolean) {
    this.#autoAnswer = on;
  }

  /** Digits received from far ends, oldest first. */
  get digitsReceived(): readonly { readonly leg: string; readonly digits: string }[] {
    return this.#digitsReceived;
  }

  /** The line a controller's DeviceID names, if any. */
  lineOf(device: DeviceID | string | undefined): PhoneLine | undefined {
    const text = typeof device === 'string' ? device : deviceText(device);
    return this.lines.find((l) => namesDevice(text, l.deviceID));
  }

  /** The calls of the device (or of one line), oldest first, as plain data. */
  calls(line?: PhoneLine): { readonly callID: string; readonly line: number; readonly state: ConnectionState; readonly remotes: readonly string[] }[] {
    return [...this.#calls.values()]
      .filter((c) => line === undefined || c.line === line)
      .map((c) => ({ callID: c.callID, line: c.line.index, state: c.state, remotes: c.parties.map((p) => p.remote) }));
  }

  // ---- CSTA call control (digest §4.5) ---------------------------------------------------

  makeCall(req: MakeCall): MakeCallResponse {
    const line = this.lineOf(req.callingDevice) ?? fail({ operation: 'invalidCallingDeviceID' });
    const dialled = deviceText(req.calledDirectoryNumber);
    if (dialled === '') fail({ operation: 'invalidDestination' });
    this.#requireRoom(line);
    const call = this.#newCall(line, 'outgoing', line.deviceID, dialledDevice(dialled, line.deviceID), dialled);
    this.#serviceInitiated(call, 'makeCall');
    if (req.autoOriginate === 'doNotPrompt' || this.#prompt === 'auto') this.#originate(call, 'newCall');
    else call.originateCause = 'newCall';
    return { type: 'MakeCallResponse', callingDevice: connection(call.callID, line.deviceID) };
  }

  answerCall(req: AnswerCall): void {
    const call = this.#callOf(req.callToBeAnswered);
    if (call.state !== 'alerting') fail({ stateIncompatibility: 'noCallToAnswer' });
    this.#answer(call);
  }

  clearConnection(req: ClearConnection): void {
    const call = this.#callOf(req.connectionToBeCleared);
    this.#clearLocal(call, req.reason ?? 'normalClearing');
  }

  clearCall(req: ClearCall): void {
    const call = this.#callOf(req.callToBeCleared);
    this.#clearLocal(call, 'normalClearing');
  }

  holdCall(req: HoldCall): void {
    const call = this.#callOf(req.callToBeHeld);
    this.#requireTalking(call);
    this.#hold(call, 'normal');
  }

  retrieveCall(req: RetrieveCall): void {
    const call = this.#callOf(req.callToBeRetrieved);
    if (call.state !== 'hold') fail({ stateIncompatibility: 'invalidConnectionState' });
    this.#retrieve(call, 'normal');
  }

  consultationCall(req: ConsultationCall): ConsultationCallResponse {
    const existing = this.#callOf(req.existingCall);
    const dialled = deviceText(req.consultedDevice);
    if (dialled === '') fail({ operation: 'invalidDestination' });
    this.#requireTalking(existing);
    this.#requireRoom(existing.line);
    this.#hold(existing, 'consultation');
    const line = existing.line;
    const call = this.#newCall(line, 'outgoing', line.deviceID, dialledDevice(dialled, line.deviceID), dialled);
    this.#serviceInitiated(call, 'consultation');
    this.#originate(call, 'consultation');
    return { type: 'ConsultationCallResponse', initiatedCall: connection(call.callID, line.deviceID) };
  }

  alternateCall(req: AlternateCall): void {
    const held = this.#callOf(req.heldCall, 'invalidHeldCallID');
    const active = this.#callOf(req.activeCall, 'invalidActiveCallID');
    if (held.state !== 'hold') fail({ stateIncompatibility: 'invalidHeldConnectionState' });
    if (active.state !== 'connected') fail({ stateIncompatibility: 'invalidActiveConnectionState' });
    this.#hold(active, 'alternate');
    this.#retrieve(held, 'alternate');
  }

  reconnectCall(req: ReconnectCall): void {
    const held = this.#callOf(req.heldCall, 'invalidHeldCallID');
    const active = this.#callOf(req.activeCall, 'invalidActiveCallID');
    if (held.state !== 'hold') fail({ stateIncompatibility: 'invalidHeldConnectionState' });
    if (active === held) fail({ operation: 'notDifferentDevices' });
    this.#clearLocal(active, 'normalClearing');
    this.#retrieve(held, 'normal');
  }

  transferCall(req: TransferCall): TransferCallResponse {
    const held = this.#callOf(req.heldCall, 'invalidHeldCallID');
    const active = this.#callOf(req.activeCall, 'invalidActiveCallID');
    if (held.state !== 'hold' || held.parties.length !== 1) fail({ stateIncompatibility: 'invalidHeldConnectionState' });
    if (active.state !== 'connected' || active.parties.length !== 1) fail({ stateIncompatibility: 'invalidActiveConnectionState' });
    if (held.transfer !== undefined || active.transfer !== undefined) fail({ stateIncompatibility: 'invalidConnectionState' });
    const to = active.parties[0]!.remote;
    const pending: PendingTransfer = { kind: 'consulted', held, active, to };
    held.transfer = pending;
    active.transfer = pending;
    this.#signalling.transferConsulted(held.parties[0]!.leg, active.parties[0]!.leg);
    return { type: 'TransferCallResponse', transferredCall: connection(held.callID, to) };
  }

  singleStepTransferCall(req: SingleStepTransferCall): SingleStepTransferCallResponse {
    const call = this.#callOf(req.activeCall, 'invalidActiveCallID');
    const dialled = deviceText(req.transferredTo);
    if (dialled === '') fail({ operation: 'invalidDestination' });
    if ((call.state !== 'connected' && call.state !== 'hold') || call.parties.length !== 1 || call.parties[0]!.state !== 'connected')
      fail({ stateIncompatibility: 'invalidActiveConnectionState' });
    if (call.transfer !== undefined) fail({ stateIncompatibility: 'invalidConnectionState' });
    const to = dialledDevice(dialled, call.line.deviceID);
    call.transfer = { kind: 'single', held: call, active: undefined, to };
    this.#signalling.transfer(call.parties[0]!.leg, dialled);
    return { type: 'SingleStepTransferCallResponse', transferredCall: connection(call.callID, to) };
  }

  conferenceCall(req: ConferenceCall): ConferenceCallResponse {
    const held = this.#callOf(req.heldCall, 'invalidHeldCallID');
    const active = this.#callOf(req.activeCall, 'invalidActiveCallID');
    if (held.state !== 'hold') fail({ stateIncompatibility: 'invalidHeldConnectionState' });
    if (active.state !== 'connected' || active.parties.some((p) => p.state !== 'connected'))
      fail({ stateIncompatibility: 'invalidActiveConnectionState' });
    if (held.line !== active.line) fail({ operation: 'notSameDevice' });
    for (const p of held.parties) this.#signalling.retrieve(p.leg);
    const list: ConnectionListItem[] = [
      ...held.parties.map((p) => ({ newConnection: connection(held.callID, p.remote), oldConnection: connection(held.callID, p.remote) })),
      ...active.parties.map((p) => ({ newConnection: connection(held.callID, p.remote), oldConnection: connection(active.callID, p.remote) })),
    ];
    for (const p of active.parties) {
      held.parties.push(p);
      this.#legs.set(p.leg, held);
    }
    active.parties = [];
    this.#calls.delete(active.callID);
    held.state = 'connected';
    this.#signalling.mix?.(held.parties.map((p) => p.leg));
    const line = held.line;
    this.#emit(line, {
      type: 'ConferencedEvent',
      primaryOldCall: connection(held.callID, line.deviceID),
      secondaryOldCall: connection(active.callID, line.deviceID),
      conferencingDevice: subject(line.deviceID),
      addedParty: subject(held.parties[held.parties.length - 1]!.remote),
      conferenceConnections: list,
      localConnectionInfo: 'connected',
      cause: 'conference',
    });
    return { type: 'ConferenceCallResponse', conferenceCall: connection(held.callID, line.deviceID), connections: list };
  }

  deflectCall(req: DeflectCall): void {
    const call = this.#callOf(req.callToBeDiverted);
    const dest = Array.isArray(req.newDestination) ? (req.newDestination as readonly DeviceID[])[0] : (req.newDestination as DeviceID);
    const dialled = deviceText(dest);
    if (dialled === '') fail({ operation: 'invalidDestination' });
    if (call.state !== 'alerting' || call.direction !== 'incoming') fail({ stateIncompatibility: 'invalidConnectionState' });
    this.#divert(call, dialled, req.reason ?? 'redirected');
  }

  generateDigits(req: GenerateDigits): void {
    const call = this.#callOf(req.connectionToSendDigits);
    if (!/^[0-9*#A-Da-d,]+$/.test(req.charactersToSend)) fail({ operation: 'invalidParameterValue' });
    if (call.state !== 'connected' || call.parties.every((p) => p.state !== 'connected'))
      fail({ stateIncompatibility: 'invalidConnectionState' });
    for (const p of call.parties) if (p.state === 'connected') this.#signalling.sendDigits(p.leg, req.charactersToSend);
    this.#emit(call.line, {
      type: 'DigitsGeneratedEvent',
      connection: connection(call.callID, call.line.deviceID),
      digitGeneratedList: req.charactersToSend,
    });
  }

  // ---- snapshots (digest §4.4) -----------------------------------------------------------

  snapshotDevice(device: DeviceID): SnapshotDeviceResponse {
    const line = this.lineOf(device) ?? fail({ operation: 'invalidDeviceID' });
    const info: SnapshotDeviceResponseInfo[] = [...this.#calls.values()]
      .filter((c) => c.line === line)
      .map((c) => ({
        connectionIdentifier: connection(c.callID, line.deviceID),
        localCallState: { compoundCallState: { localConnectionState: [c.state, ...c.parties.map((p) => p.state)] } },
      }));
    return {
      type: 'SnapshotDeviceResponse',
      crossRefIDorSnapshotData: { snapshotData: info.length === 0 ? {} : { snapshotDeviceResponseInfo: info } },
    };
  }

  snapshotCall(req: SnapshotCall): SnapshotCallResponse {
    const call = this.#callOf(req.snapshotObject);
    const line = call.line;
    return {
      type: 'SnapshotCallResponse',
      crossRefIDorSnapshotData: {
        snapshotData: {
          snapshotCallResponseInfo: [
            { deviceOnCall: subject(line.deviceID), callIdentifier: connection(call.callID, line.deviceID), localConnectionInfo: call.state },
            ...call.parties.map((p) => ({
              deviceOnCall: subject(p.remote),
              callIdentifier: connection(call.callID, p.remote),
              localConnectionInfo: p.state,
            })),
          ],
        },
      },
      callingDevice: subject(call.calling),
      calledDevice: subject(call.called),
    };
  }

  // ---- device features (digest §4.7) -----------------------------------------------------

  setDoNotDisturb(req: SetDoNotDisturb): void {
    const line = this.lineOf(req.device) ?? fail({ operation: 'invalidDeviceID' });
    this.setDnd(line, req.doNotDisturbOn);
  }

  /** Sets DND of `line` (CSTA or the phone's own key) and reports it. */
  setDnd(line: PhoneLine, on: boolean): void {
    this.#featuresOf(line).dnd = on;
    this.#emit(line, { type: 'DoNotDisturbEvent', device: subject(line.deviceID), doNotDisturbOn: on });
  }

  getDoNotDisturb(device: DeviceID): GetDoNotDisturbResponse {
    const line = this.lineOf(device) ?? fail({ operation: 'invalidDeviceID' });
    return { type: 'GetDoNotDisturbResponse', doNotDisturbOn: this.#featuresOf(line).dnd };
  }

  setForwarding(req: SetForwarding): void {
    const line = this.lineOf(req.device) ?? fail({ operation: 'invalidDeviceID' });
    const type = baseForwarding(req.forwardingType ?? 'forwardImmediate') ?? fail({ operation: 'invalidForwardingType' });
    const to = deviceText(req.forwardDN);
    if (req.activateForward && to === '') fail({ operation: 'invalidForwardingDestination' });
    if (req.ringCount !== undefined && (!Number.isInteger(req.ringCount) || req.ringCount < 1 || req.ringCount > 15))
      fail({ operation: 'ringCountOutOfRange' });
    this.setForwardingOf(line, type, req.activateForward ? to : undefined, req.ringCount);
  }

  /** Sets (or with `forwardDN` undefined, clears) one forwarding of `line` and reports it. */
  setForwardingOf(line: PhoneLine, type: AppliedForwarding, forwardDN: string | undefined, ringCount?: number): void {
    const features = this.#featuresOf(line);
    if (forwardDN === undefined) features.forwarding.delete(type);
    else features.forwarding.set(type, { forwardDN, ringCount });
    this.#emit(line, {
      type: 'ForwardingEvent',
      device: subject(line.deviceID),
      forwardingType: type,
      forwardStatus: forwardDN !== undefined,
      ...(forwardDN === undefined ? {} : { forwardTo: forwardDN }),
      ...(forwardDN !== undefined && type === 'forwardNoAns' && ringCount !== undefined ? { ringCount } : {}),
    });
  }

  getForwarding(device: DeviceID): GetForwardingResponse {
    const line = this.lineOf(device) ?? fail({ operation: 'invalidDeviceID' });
    const features = this.#featuresOf(line);
    const list: ForwardListItem[] = FORWARDING_TYPES.map((type) => {
      const f = features.forwarding.get(type);
      return f === undefined
        ? { forwardingType: type, forwardStatus: false }
        : { forwardingType: type, forwardStatus: true, forwardDN: f.forwardDN, ...(f.ringCount === undefined ? {} : { ringCount: f.ringCount }) };
    });
    return { type: 'GetForwardingResponse', forwardingList: list };
  }

  setMicrophoneMute(req: SetMicrophoneMute): void {
    const line = this.lineOf(req.device) ?? fail({ operation: 'invalidDeviceID' });
    this.#featuresOf(line).microphoneMute = req.microphoneMuteOn;
    this.#emit(line, {
      type: 'MicrophoneMuteEvent',
      invokingDevice: subject(line.deviceID),
      auditoryApparatus: req.auditoryApparatus ?? PHONE_DEVICE_DEFAULTS.auditoryApparatus,
      microphoneMuteOn: req.microphoneMuteOn,
    });
  }

  getMicrophoneMute(device: DeviceID): GetMicrophoneMuteResponse {
    const line = this.lineOf(device) ?? fail({ operation: 'invalidDeviceID' });
    return {
      type: 'GetMicrophoneMuteResponse',
      microphoneMuteList: [{ auditoryApparatus: PHONE_DEVICE_DEFAULTS.auditoryApparatus, microphoneMuteOn: this.#featuresOf(line).microphoneMute }],
    };
  }

  setSpeakerVolume(req: SetSpeakerVolume): void {
    const line = this.lineOf(req.device) ?? fail({ operation: 'invalidDeviceID' });
    const features = this.#featuresOf(line);
    const v = req.speakerVolume;
    let next: number;
    if ('volAbs' in v) {
      if (!Number.isInteger(v.volAbs) || v.volAbs < 0 || v.volAbs > 100) fail({ operation: 'speakerVolumeOutOfRange' });
      next = v.volAbs;
    } else if (v.volInc === 'increment') next = Math.min(100, features.speakerVolume + 10);
    else if (v.volInc === 'decrement') next = Math.max(0, features.speakerVolume - 10);
    else fail({ operation: 'speakerVolumeOutOfRange' });
    features.speakerVolume = next;
    this.#emit(line, {
      type: 'SpeakerVolumeEvent',
      invokingDevice: subject(line.deviceID),
      auditoryApparatus: req.auditoryApparatus ?? PHONE_DEVICE_DEFAULTS.auditoryApparatus,
      speakerVolume: { volAbs: next },
    });
  }

  getSpeakerVolume(device: DeviceID): GetSpeakerVolumeResponse {
    const line = this.lineOf(device) ?? fail({ operation: 'invalidDeviceID' });
    return {
      type: 'GetSpeakerVolumeResponse',
      speakerVolumeList: [{ auditoryApparatus: PHONE_DEVICE_DEFAULTS.auditoryApparatus, speakerVolAbs: this.#featuresOf(line).speakerVolume }],
    };
  }

  // ---- lab controls (the user at the phone) ----------------------------------------------

  /**
   * The user lifts the handset on `line`: answers the ringing call, continues a MakeCall that
   * waits for the user (`prompt`), or starts a new call waiting for digits (ServiceInitiated,
   * cause `newCall`). Returns the callID.
   */
  offHook(line: PhoneLine = this.lines[0]!): string {
    const calls = [...this.#calls.values()].filter((c) => c.line === line);
    const ringing = calls.find((c) => c.state === 'alerting');
    if (ringing !== undefined) {
      this.#answer(ringing);
      return ringing.callID;
    }
    const waiting = calls.find((c) => c.state === 'initiated');
    if (waiting !== undefined) {
      if (waiting.originateCause !== undefined && waiting.dialled !== '') this.#originate(waiting, waiting.originateCause);
      return waiting.callID;
    }
    if (calls.length >= this.#maxCallsPerLine) throw new UaCstaError('ERR_INVALID_STATE', `line ${line.index} has no free call`);
    const call = this.#newCall(line, 'outgoing', line.deviceID, '', '');
    this.#serviceInitiated(call, 'newCall');
    call.originateCause = 'newCall';
    return call.callID;
  }

  /** The user dials `number` on the call waiting for digits (lifting the handset first if needed). */
  dial(number: string, line: PhoneLine = this.lines[0]!): string {
    if (typeof number !== 'string' || number.trim() === '') throw new UaCstaError('ERR_INVALID_ARG', 'number must be a non-empty string');
    let call = [...this.#calls.values()].find((c) => c.line === line && c.state === 'initiated');
    if (call === undefined) {
      this.offHook(line);
      call = [...this.#calls.values()].find((c) => c.line === line && c.state === 'initiated');
    }
    if (call === undefined) throw new UaCstaError('ERR_INVALID_STATE', 'no call waits for digits');
    call.dialled = number.trim();
    call.called = dialledDevice(call.dialled, line.deviceID);
    this.#originate(call, call.originateCause ?? 'newCall');
    return call.callID;
  }

  /** The user answers `callID` (or the ringing call). */
  answer(callID?: string): void {
    const call = this.#userCall(callID, (c) => c.state === 'alerting');
    if (call.state !== 'alerting') throw new UaCstaError('ERR_INVALID_STATE', `call ${call.callID} is not ringing`);
    this.#answer(call);
  }

  /** The user hangs up `callID` (or the newest call). */
  hangUp(callID?: string): void {
    this.#clearLocal(this.#userCall(callID, () => true), 'normalClearing');
  }

  /** The user puts `callID` (or the active call) on hold. */
  hold(callID?: string): void {
    const call = this.#userCall(callID, (c) => c.state === 'connected');
    if (call.state !== 'connected') throw new UaCstaError('ERR_INVALID_STATE', `call ${call.callID} is not connected`);
    this.#hold(call, 'normal');
  }

  /** The user retrieves `callID` (or the held call). */
  retrieve(callID?: string): void {
    const call = this.#userCall(callID, (c) => c.state === 'hold');
    if (call.state !== 'hold') throw new UaCstaError('ERR_INVALID_STATE', `call ${call.callID} is not held`);
    this.#retrieve(call, 'normal');
  }

  /**
   * An incoming call from `from` that does not come through the signalling (a scripted ring):
   * it is offered as a signalling input on a leg of its own; commands on it reach the signalling,
   * which ignores legs it does not know. Returns that leg.
   */
  ring(from: string, line: PhoneLine = this.lines[0]!): string {
    const leg = `ring-${this.#nextRingLeg++}`;
    this.input({ type: 'offered', leg, from, to: line.deviceID, line: line.index });
    return leg;
  }

  // ---- signalling inputs -----------------------------------------------------------------

  /** Applies one input of the signalling (also used by {@link ring} and by tests). */
  input(input: CallSignallingInput): void {
    if (input.type === 'offered') {
      this.#offered(input);
      return;
    }
    const call = this.#legs.get(input.leg);
    if (call === undefined) return;
    if (call.referred !== undefined && input.leg === call.referred.newLeg) {
      this.#referredProgress(call, input);
      return;
    }
    const party = call.parties.find((p) => p.leg === input.leg);
    if (party === undefined) return;
    const line = call.line;
    switch (input.type) {
      case 'alerting':
        if (party.state === 'alerting') return;
        party.state = 'alerting';
        this.#emit(line, {
          type: 'DeliveredEvent',
          connection: connection(call.callID, party.remote),
          alertingDevice: subject(party.remote),
          callingDevice: subject(call.calling),
          calledDevice: subject(call.called),
          lastRedirectionDevice: redirection(call.lastRedirection, { notRequired: true }),
          localConnectionInfo: call.state,
          cause: call.lastRedirection === undefined ? 'newCall' : 'redirected',
        });
        return;
      case 'answered':
        if (party.state === 'connected') return;
        party.state = 'connected';
        this.#emit(line, {
          type: 'EstablishedEvent',
          establishedConnection: connection(call.callID, party.remote),
          answeringDevice: subject(party.remote),
          callingDevice: subject(call.calling),
          calledDevice: subject(call.called),
          lastRedirectionDevice: redirection(call.lastRedirection, { notRequired: true }),
          localConnectionInfo: call.state,
          cause: 'normal',
        });
        return;
      case 'failed': {
        this.#dropParty(call, party);
        call.state = 'fail';
        const cause = failedCause(input.cause);
        this.#emit(line, {
          type: 'FailedEvent',
          failedConnection: connection(call.callID, party.remote),
          failingDevice: subject(party.remote),
          callingDevice: subject(call.calling),
          calledDevice: subject(call.called),
          lastRedirectionDevice: redirection(call.lastRedirection, { notRequired: true }),
          localConnectionInfo: 'fail',
          cause,
        });
        if (this.#clearFailedCalls) this.#clearLocal(call, cause);
        return;
      }
      case 'released': {
        if (call.transfer !== undefined) return; // the transfer's outcome settles this call
        this.#dropParty(call, party);
        const last = call.parties.length === 0;
        if (last) this.#removeCall(call);
        else this.#signalling.mix?.(call.parties.map((p) => p.leg));
        this.#emit(line, {
          type: 'ConnectionClearedEvent',
          droppedConnection: connection(call.callID, party.remote),
          releasingDevice: subject(party.remote),
          localConnectionInfo: last ? 'null' : call.state,
          cause: clearedCause(input.cause),
        });
        return;
      }
      case 'diverted': {
        const from = party.remote;
        const to = dialledDevice(input.to, line.deviceID);
        call.lastRedirection = from;
        party.remote = to;
        party.state = 'initiated';
        this.#emit(line, {
          type: 'DivertedEvent',
          connection: connection(call.callID, from),
          divertingDevice: subject(from),
          newDestination: subject(to),
          callingDevice: subject(call.calling),
          calledDevice: subject(call.called),
          lastRedirectionDevice: { notRequired: true },
          localConnectionInfo: call.state,
          cause: 'redirected',
        });
        return;
      }
      case 'heldByRemote':
      case 'retrievedByRemote': {
        const held = input.type === 'heldByRemote';
        if ((party.state === 'hold') === held) return;
        party.state = held ? 'hold' : 'connected';
        this.#emit(
          line,
          held
            ? { type: 'HeldEvent', heldConnection: connection(call.callID, party.remote), holdingDevice: subject(party.remote), localConnectionInfo: call.state, cause: 'normal' }
            : { type: 'RetrievedEvent', retrievedConnection: connection(call.callID, party.remote), retrievingDevice: subject(party.remote), localConnectionInfo: call.state, cause: 'normal' },
        );
        return;
      }
      case 'transferResult':
        this.#transferResult(call, input.ok);
        return;
      case 'referred':
        call.referred = { newLeg: input.newLeg, to: dialledDevice(input.to, line.deviceID), attended: input.attended === true };
        this.#legs.set(input.newLeg, call);
        return;
      case 'digits':
        this.#digitsReceived.push({ leg: input.leg, digits: input.digits });
        return;
    }
  }

  // ---- internals -------------------------------------------------------------------------

  #offered(input: Extract<CallSignallingInput, { type: 'offered' }>): void {
    if (input.replaces !== undefined) {
      const old = this.#legs.get(input.replaces);
      const party = old?.parties.find((p) => p.leg === input.replaces);
      if (old !== undefined && party !== undefined) {
        this.#replaceLeg(old, party, input);
        return;
      }
    }
    const line =
      (input.line !== undefined ? this.lines[input.line] : undefined) ?? this.lineOf(input.to) ?? this.lines[0]!;
    const features = this.#featuresOf(line);
    const from = input.from;
    const busy = [...this.#calls.values()].filter((c) => c.line === line).length >= this.#maxCallsPerLine;
    const forward = (type: AppliedForwarding): string | undefined => features.forwarding.get(type)?.forwardDN;
    const divertAway = (to: string, cause: Known<EventCause>): void => {
      const call = this.#newCall(line, 'incoming', from, input.divertedFrom ?? line.deviceID, '');
      call.lastRedirection = input.divertedFrom;
      call.state = 'alerting';
      call.parties.push({ leg: input.leg, remote: from, state: 'connected' });
      this.#legs.set(input.leg, call);
      this.#divert(call, to, cause);
    };
    if (features.dnd) {
      const to = forward('forwardDND');
      if (to !== undefined) divertAway(to, 'doNotDisturb');
      else this.#signalling.reject(input.leg, 'doNotDisturb');
      return;
    }
    const immediate = forward('forwardImmediate');
    if (immediate !== undefined) {
      divertAway(immediate, 'callForwardImmediate');
      return;
    }
    if (busy) {
      const to = forward('forwardBusy');
      if (to !== undefined) divertAway(to, 'callForwardBusy');
      else this.#signalling.reject(input.leg, 'busy');
      return;
    }
    const call = this.#newCall(line, 'incoming', from, input.divertedFrom ?? line.deviceID, '');
    call.lastRedirection = input.divertedFrom;
    call.state = 'alerting';
    call.parties.push({ leg: input.leg, remote: from, state: 'connected' });
    this.#legs.set(input.leg, call);
    this.#emit(line, {
      type: 'DeliveredEvent',
      connection: connection(call.callID, line.deviceID),
      alertingDevice: subject(line.deviceID),
      callingDevice: subject(from),
      calledDevice: subject(call.called),
      lastRedirectionDevice: redirection(call.lastRedirection, { notKnown: true }),
      localConnectionInfo: 'alerting',
      cause: call.lastRedirection === undefined ? 'newCall' : 'redirected',
    });
    const noAnswer = features.forwarding.get('forwardNoAns');
    if (noAnswer !== undefined) {
      const rings = noAnswer.ringCount ?? this.#defaultRingCount;
      call.timer = this.#clock.setTimeout(() => {
        call.timer = undefined;
        if (call.state === 'alerting' && this.#calls.get(call.callID) === call) this.#divert(call, noAnswer.forwardDN, 'callForwardNoAnswer');
      }, rings * this.#ringIntervalMs);
    } else if (this.#autoAnswer || input.autoAnswer === true) {
      call.timer = this.#clock.setTimeout(() => {
        call.timer = undefined;
        if (call.state === 'alerting' && this.#calls.get(call.callID) === call) this.#answer(call);
      }, this.#autoAnswerAfterMs);
    }
  }

  /** RFC 3891: the new leg takes over `party` of `call` (this phone is the transfer target). */
  #replaceLeg(call: Call, party: Party, input: Extract<CallSignallingInput, { type: 'offered' }>): void {
    const oldLeg = party.leg;
    const oldRemote = party.remote;
    this.#legs.delete(oldLeg);
    party.leg = input.leg;
    party.remote = input.from;
    party.state = 'connected';
    this.#legs.set(input.leg, call);
    this.#signalling.answer(input.leg);
    this.#signalling.release(oldLeg);
    const line = call.line;
    this.#emit(line, {
      type: 'TransferedEvent',
      primaryOldCall: connection(call.callID, line.deviceID),
      transferringDevice: subject(input.referredBy ?? oldRemote),
      transferredToDevice: subject(line.deviceID),
      transferredConnections: [{ newConnection: connection(call.callID, input.from), oldConnection: connection(call.callID, oldRemote) }],
      localConnectionInfo: call.state,
      cause: 'transfer',
    });
  }

  /** Progress of the call this phone places because the far end referred it (transferee). */
  #referredProgress(call: Call, input: Exclude<CallSignallingInput, { type: 'offered' }>): void {
    const referred = call.referred!;
    if (input.type === 'answered') {
      const party = call.parties[0];
      call.referred = undefined;
      if (party === undefined) return;
      const oldLeg = party.leg;
      const oldRemote = party.remote;
      this.#legs.delete(oldLeg);
      party.leg = referred.newLeg;
      party.remote = input.remote ?? referred.to;
      party.state = 'connected';
      this.#signalling.release(oldLeg);
      const line = call.line;
      this.#emit(line, {
        type: 'TransferedEvent',
        primaryOldCall: connection(call.callID, line.deviceID),
        transferringDevice: subject(oldRemote),
        transferredToDevice: subject(party.remote),
        transferredConnections: [{ newConnection: connection(call.callID, party.remote), oldConnection: connection(call.callID, oldRemote) }],
        localConnectionInfo: call.state,
        cause: referred.attended ? 'transfer' : 'singleStepTransfer',
      });
    } else if (input.type === 'failed' || input.type === 'released') {
      this.#legs.delete(referred.newLeg);
      call.referred = undefined;
    }
  }

  #transferResult(call: Call, ok: boolean): void {
    const t = call.transfer;
    if (t === undefined) return;
    t.held.transfer = undefined;
    if (t.active !== undefined) t.active.transfer = undefined;
    if (!ok) return;
    const line = t.held.line;
    const legs = [...t.held.parties, ...(t.active?.parties ?? [])].map((p) => p.leg);
    const oldRemote = t.held.parties[0]?.remote;
    this.#removeCall(t.held);
    if (t.active !== undefined) this.#removeCall(t.active);
    for (const leg of legs) this.#signalling.release(leg);
    this.#emit(
      line,
      t.kind === 'consulted'
        ? {
            type: 'TransferedEvent',
            primaryOldCall: connection(t.held.callID, line.deviceID),
            secondaryOldCall: connection(t.active!.callID, line.deviceID),
            transferringDevice: subject(line.deviceID),
            transferredToDevice: subject(t.to),
            transferredConnections: [{ newConnection: connection(t.held.callID, t.to), oldConnection: connection(t.active!.callID, t.to) }],
            localConnectionInfo: 'null',
            cause: 'transfer',
          }
        : {
            type: 'TransferedEvent',
            primaryOldCall: connection(t.held.callID, line.deviceID),
            transferringDevice: subject(line.deviceID),
            transferredToDevice: subject(t.to),
            transferredConnections: [{ newConnection: connection(t.held.callID, t.to), oldConnection: connection(t.held.callID, oldRemote ?? line.deviceID) }],
            localConnectionInfo: 'null',
            cause: 'singleStepTransfer',
          },
    );
  }

  #newCall(line: PhoneLine, direction: 'outgoing' | 'incoming', calling: string, called: string, dialled: string): Call {
    const call: Call = {
      callID: String(this.#nextCallID++),
      line,
      direction,
      state: 'initiated',
      calling,
      called,
      dialled,
      lastRedirection: undefined,
      parties: [],
      originateCause: undefined,
      transfer: undefined,
      referred: undefined,
      timer: undefined,
    };
    this.#calls.set(call.callID, call);
    return call;
  }

  #serviceInitiated(call: Call, cause: Known<EventCause>): void {
    const line = call.line;
    this.#emit(line, {
      type: 'ServiceInitiatedEvent',
      initiatedConnection: connection(call.callID, line.deviceID),
      initiatingDevice: subject(line.deviceID),
      localConnectionInfo: 'initiated',
      cause,
    });
  }

  #originate(call: Call, cause: Known<EventCause>): void {
    const line = call.line;
    call.originateCause = undefined;
    const leg = this.#signalling.place({ to: call.dialled, line: line.index });
    call.parties.push({ leg, remote: call.called, state: 'initiated' });
    this.#legs.set(leg, call);
    call.state = 'connected';
    this.#emit(line, {
      type: 'OriginatedEvent',
      originatedConnection: connection(call.callID, line.deviceID),
      callingDevice: subject(line.deviceID),
      calledDevice: subject(call.called),
      localConnectionInfo: 'connected',
      cause,
    });
  }

  #answer(call: Call): void {
    this.#stopTimer(call);
    for (const p of call.parties) this.#signalling.answer(p.leg);
    call.state = 'connected';
    const line = call.line;
    this.#emit(line, {
      type: 'EstablishedEvent',
      establishedConnection: connection(call.callID, line.deviceID),
      answeringDevice: subject(line.deviceID),
      callingDevice: subject(call.calling),
      calledDevice: subject(call.called),
      lastRedirectionDevice: redirection(call.lastRedirection, { notKnown: true }),
      localConnectionInfo: 'connected',
      cause: 'normal',
    });
  }

  #hold(call: Call, cause: Known<EventCause>): void {
    for (const p of call.parties) this.#signalling.hold(p.leg);
    call.state = 'hold';
    const line = call.line;
    this.#emit(line, {
      type: 'HeldEvent',
      heldConnection: connection(call.callID, line.deviceID),
      holdingDevice: subject(line.deviceID),
      localConnectionInfo: 'hold',
      cause,
    });
  }

  #retrieve(call: Call, cause: Known<EventCause>): void {
    for (const p of call.parties) this.#signalling.retrieve(p.leg);
    call.state = 'connected';
    const line = call.line;
    this.#emit(line, {
      type: 'RetrievedEvent',
      retrievedConnection: connection(call.callID, line.deviceID),
      retrievingDevice: subject(line.deviceID),
      localConnectionInfo: 'connected',
      cause,
    });
  }

  /** The local connection leaves the call (hang-up, ClearConnection, reject, cancel). */
  #clearLocal(call: Call, cause: Known<EventCause>): void {
    for (const p of call.parties) this.#signalling.release(p.leg);
    if (call.referred !== undefined) this.#signalling.release(call.referred.newLeg);
    this.#removeCall(call);
    const line = call.line;
    this.#emit(line, {
      type: 'ConnectionClearedEvent',
      droppedConnection: connection(call.callID, line.deviceID),
      releasingDevice: subject(line.deviceID),
      localConnectionInfo: 'null',
      cause,
    });
  }

  #divert(call: Call, dialled: string, cause: Known<EventCause>): void {
    const line = call.line;
    const to = dialledDevice(dialled, line.deviceID);
    for (const p of call.parties) this.#signalling.deflect(p.leg, dialled);
    this.#removeCall(call);
    this.#emit(line, {
      type: 'DivertedEvent',
      connection: connection(call.callID, line.deviceID),
      divertingDevice: subject(line.deviceID),
      newDestination: subject(to),
      callingDevice: subject(call.calling),
      calledDevice: subject(call.called),
      lastRedirectionDevice: redirection(call.lastRedirection, { notKnown: true }),
      localConnectionInfo: 'null',
      cause,
    });
  }

  #dropParty(call: Call, party: Party): void {
    call.parties = call.parties.filter((p) => p !== party);
    this.#legs.delete(party.leg);
  }

  #removeCall(call: Call): void {
    this.#stopTimer(call);
    for (const p of call.parties) if (this.#legs.get(p.leg) === call) this.#legs.delete(p.leg);
    if (call.referred !== undefined) this.#legs.delete(call.referred.newLeg);
    this.#calls.delete(call.callID);
  }

  #stopTimer(call: Call): void {
    if (call.timer !== undefined) this.#clock.clearTimeout(call.timer);
    call.timer = undefined;
  }

  #featuresOf(line: PhoneLine): LineFeatures {
    return this.#features.get(line)!;
  }

  #requireRoom(line: PhoneLine): void {
    if ([...this.#calls.values()].filter((c) => c.line === line).length >= this.#maxCallsPerLine)
      fail({ systemResourceAvailibility: 'resourceBusy' });
  }

  #requireTalking(call: Call): void {
    if (call.state !== 'connected' || call.parties.length === 0 || call.parties.some((p) => p.state !== 'connected'))
      fail({ stateIncompatibility: 'invalidConnectionState' });
  }

  /**
   * The call a ConnectionID names: `callID` must be known (`invalidCallID`, digest §4.1.6), and a
   * `deviceID`, when given, must name the line or a far end of that call (`invalidConnectionID`).
   */
  #callOf(id: ConnectionID | undefined, unknownCall: 'invalidCallID' | 'invalidHeldCallID' | 'invalidActiveCallID' = 'invalidCallID'): Call {
    if (id === undefined || id.callID === undefined) fail({ operation: 'invalidConnectionID' });
    const call = this.#calls.get(id.callID) ?? fail({ operation: unknownCall });
    if (id.deviceID !== undefined) {
      const text = deviceText(id.deviceID);
      if (!namesDevice(text, call.line.deviceID) && !call.parties.some((p) => namesDevice(text, p.remote)))
        fail({ operation: 'invalidConnectionID' });
    }
    return call;
  }

  #userCall(callID: string | undefined, prefer: (c: Call) => boolean): Call {
    if (callID !== undefined) {
      const call = this.#calls.get(callID);
      if (call === undefined) throw new UaCstaError('ERR_INVALID_ARG', `no call ${callID}`);
      return call;
    }
    const all = [...this.#calls.values()];
    const call = all.find(prefer) ?? all[all.length - 1];
    if (call === undefined) throw new UaCstaError('ERR_INVALID_STATE', 'the phone has no call');
    return call;
  }

  #emit(line: PhoneLine, event: DeviceEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener({ line, event });
      } catch {
        // a listener must not break the call model; the simulator traces its own failures
      }
    }
  }
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new UaCstaError('ERR_INVALID_ARG', `${name} must be a positive integer`);
  return value;
}

function baseForwarding(type: string): AppliedForwarding | undefined {
  const base = type.replace(/(Int|Ext)$/, '').replace(/^forwardImm$/, 'forwardImmediate');
  return (FORWARDING_TYPES as readonly string[]).includes(base) ? (base as AppliedForwarding) : undefined;
}

