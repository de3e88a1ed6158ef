// Public surface of the persistence module; import from here rather than from the individual files.

export { CorruptDatabaseError, type DatabaseRecovery, type SynchronousMode } from './database.js';
export { DatabaseFileError } from './databasePath.js';
export type { DeviceState, DeviceStateStore, StoredDeviceState } from './deviceStates.js';
export type { DesiredState, DesiredStateStore } from './desiredStates.js';
export type { DiscoveredDevice, DiscoveredDeviceStore } from './discoveredDevices.js';
export { exportJsonLines } from './export.js';
export type { HistoricReading, ReadingsHistory } from './history.js';
export { MIGRATIONS, type Migration } from './migrations.js';
export {
  DEFAULT_OUTBOX_LIMITS,
  type Outbox,
  type OutboxDraft,
  type OutboxKind,
  type OutboxMessage,
  type OutboxStats,
} from './outbox.js';
export type { OutboxLimits } from './outboxLimits.js';
export {
  type CleanupResult,
  type DatabaseSettings,
  type EnqueuedReading,
  openPersistence,
  Persistence,
  type PersistenceOptions,
  type ReadingDraft,
} from './persistence.js';
export type { SequenceStore } from './sequences.js';
export type { SnapshotStore, StoredSnapshot } from './snapshots.js';
