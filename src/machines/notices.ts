import type { JsonValue } from '../drivers/contract.js';

// What the machines tell the rest of the gateway. Device actors send these to their supervisor, which
// acts on the status ones and hands every notice to the gateway's sink (logs, MQTT, health).

/** The device states by name, as logs, MQTT and the inspector show them. */
export type DeviceStatus =
  'disconnected' | 'connecting' | 'connected.healthy' | 'connected.degraded' | 'reconnecting' | 'offline';

export interface DeviceStatusNotice {
  type: 'device.status';
  deviceId: string;
  busId: string;
  status: DeviceStatus;
  /** Why the device is in this state: the event or error that moved it. */
  reason: string;
  attempts: number;
  consecutiveFailures: number;
  lastError: string | null;
  lastSuccessAt: number | null;
  /** When the next connection attempt is due (only while `reconnecting`). */
  nextAttemptAt: number | null;
  /** Down because the bus's shared link is, which its runtime logged once for the bus (BusLinkDown). */
  busLinkDown?: true;
  at: number;
}

export type CommandResult = { ok: true; result: JsonValue } | { ok: false; error: string };

/** Why a command was refused without being run: its device's queue was full, or it was not running. */
export type CommandRefusal = 'queue_full' | 'not_running';

export interface CommandResultNotice {
  type: 'device.commandResult';
  deviceId: string;
  commandId: string;
  operation: string;
  result: CommandResult;
  /** Set when the command never ran (the log summarises a flood of these, see noticeLog.ts). */
  refused?: CommandRefusal;
  at: number;
}

export interface DeviceDataNotice {
  type: 'device.data';
  deviceId: string;
  operation: string;
  result: JsonValue;
  /**
   * How long the read took, from the start of the operation to its result, as the actor doing the I/O
   * measured it. Absent for pushed data (a BLE advertisement): nothing was read, so there is no duration.
   */
  durationMs?: number;
  at: number;
}

export type DeviceNotice = DeviceStatusNotice | CommandResultNotice | DeviceDataNotice;

type WithoutAt<T> = T extends unknown ? Omit<T, 'at'> : never;

/** A notice before the machine stamps it with the time it is sent. */
export type DeviceNoticeDraft = WithoutAt<DeviceNotice>;

/** What supervisors report about themselves and the recovery they run. */
export type SupervisorNotice =
  | {
      type: 'supervisor.recovery';
      busId: string;
      deviceId: string;
      step: string;
      /**
       * `succeeded`: the step completed; `verified`: the device was well again after it (its ladder
       * starts over); `did_not_help`: the trouble came back first (the ladder goes on).
       */
      outcome: 'started' | 'succeeded' | 'failed' | 'rate_limited' | 'verified' | 'did_not_help';
      detail: string;
      at: number;
    }
  | {
      type: 'supervisor.restart';
      busId: string;
      /** The restarted actor: a device id, or the bus id when a whole bus supervisor restarts. */
      actorId: string;
      reason: string;
      delayMs: number;
      at: number;
    }
  | { type: 'supervisor.escalated'; busId: string; reason: string; at: number }
  | { type: 'supervisor.child_stopped'; busId: string; actorId: string; reason: string; at: number };

export type GatewayNotice = DeviceNotice | SupervisorNotice;

export type NoticeSink = (notice: GatewayNotice) => void;
