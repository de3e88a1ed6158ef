import { RESTART_ACTOR_STEP } from '../drivers/contract.js';
import type { ChildControl } from './busSupervisorChildren.js';
import {
  type BusSupervisorContext,
  planRecovery,
  type RecoveryReport,
  type RecoveryRequest,
  recoveryNotice,
  verifiedWatch,
} from './busSupervisorModel.js';
import { nowOf } from './clock.js';
import { deliver } from './outlet.js';

// The ends of a recovery step of a bus supervisor: choosing what the next request runs, reporting how
// it went, and its verification by the device. Plain functions over the action queue of
// `enqueueActions`, like busSupervisorChildren.ts, so the machine (busSupervisor.ts) only wires them.
//
// A step that completed is not yet a step that helped. It waits (`unverifiedStep`) for the device to
// show it is well, which resets the ladder, or for the next climb, which means it did not help and the
// ladder goes on. restart_actor never waits: a restarted device connects and looks healthy whether
// the trouble is gone or not (a BLE scan that needs a power cycle is found stuck only later), so only
// a stable period resets the ladder after it.

type SystemLike = Parameters<typeof deliver>[1] & Parameters<typeof nowOf>[0];

/** Pops the next recovery request and decides what it runs; restart_actor is done by the supervisor. */
export function chooseRecovery(enqueue: ChildControl, context: BusSupervisorContext, system: SystemLike) {
  const [request, ...rest] = context.recoveryQueue as [RecoveryRequest, ...RecoveryRequest[]];
  enqueue.assign({ recoveryQueue: rest });
  const watch = context.watches[request.deviceId];
  if (!watch || !context.running.includes(request.deviceId)) return;
  const now = nowOf(system);
  // The ladder climbs again while a completed step waits for its verification: it did not help.
  if (request.step === null && watch.unverifiedStep !== null) {
    const report: RecoveryReport = {
      step: watch.unverifiedStep,
      outcome: 'did_not_help',
      detail: `the trouble is back (${request.reason}): the ladder goes on`,
    };
    deliver(enqueue, system, recoveryNotice(context, request.deviceId, report, now));
  }
  const plan = planRecovery(context, request, watch, now);
  if (plan.watch) enqueue.assign({ watches: { ...context.watches, [request.deviceId]: plan.watch } });
  deliver(enqueue, system, recoveryNotice(context, request.deviceId, plan.report, now));
  if (plan.start === RESTART_ACTOR_STEP) {
    enqueue.raise({
      type: 'RESTART_CHILD',
      deviceId: request.deviceId,
      reason: `recovery step ${RESTART_ACTOR_STEP}`,
      crashed: true,
      // A step named in the request is an operator's; the ladder's own climb is a failure like a crash.
      requested: request.step !== null,
    });
  } else if (plan.start !== null) {
    enqueue.assign({ recovering: { ...request, step: plan.start } });
  }
}

/** Reports the end of the running step and has the device verify it with a fresh connection attempt. */
export function finishRecovery(
  enqueue: ChildControl,
  context: BusSupervisorContext,
  system: SystemLike,
  result: { ok: boolean; detail: string },
) {
  const recovering = context.recovering;
  if (!recovering) return;
  const now = nowOf(system);
  const outcome = result.ok ? 'succeeded' : 'failed';
  const report: RecoveryReport = { step: recovering.step, outcome, detail: result.detail };
  deliver(enqueue, system, recoveryNotice(context, recovering.deviceId, report, now));
  const watch = context.watches[recovering.deviceId];
  if (watch) {
    const lastRecovery = { step: recovering.step, outcome, at: now };
    // A failed step did not help; an earlier one still waiting (a manual request in between) waits on.
    const unverifiedStep = result.ok ? recovering.step : watch.unverifiedStep;
    enqueue.assign({
      watches: { ...context.watches, [recovering.deviceId]: { ...watch, lastRecovery, unverifiedStep } },
    });
  }
  // The step is verified by the device itself: a fresh connection attempt now (a connected device
  // ignores it; its driver's own checks, such as the BLE watchdog's, report instead). If the device
  // ends up offline again (or stays degraded), the next climb takes the next rung.
  if (context.running.includes(recovering.deviceId)) {
    enqueue.sendTo(recovering.deviceId, {
      type: 'RETRY',
      reason: `after recovery step ${recovering.step}`,
    });
  }
  enqueue.assign({ recovering: null });
}

/**
 * The device shows it is well (see verifiedWatch): a step waiting for that is verified, and with
 * `ownChecksPassed` the ladder starts over even without one. Assigns nothing when there is nothing to
 * do, so the readings that pass by are no change to persist (snapshotPort.ts).
 */
export function verifyRecovery(
  enqueue: ChildControl,
  context: BusSupervisorContext,
  system: SystemLike,
  deviceId: string,
  why: string,
  ownChecksPassed = false,
) {
  const watch = context.watches[deviceId];
  const now = nowOf(system);
  if (!watch || verifiedWatch(watch, now, ownChecksPassed) === null) return;
  const step = watch.unverifiedStep;
  if (step) {
    const report: RecoveryReport = { step, outcome: 'verified', detail: `the device is well again: ${why}` };
    deliver(enqueue, system, recoveryNotice(context, deviceId, report, now));
  }
  // Read again when applied: the same action may have changed the watch (its status) before.
  enqueue.assign(({ context: current }) => {
    const latest = current.watches[deviceId];
    const verified = latest && verifiedWatch(latest, now, ownChecksPassed);
    return verified ? { watches: { ...current.watches, [deviceId]: verified } } : {};
  });
}
