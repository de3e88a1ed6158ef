import { z } from 'zod';

// The `set`/`get` fields of a dimmable light, shared by the drivers whose devices are lamps.

export const lightSet = z.strictObject({
  state: z.enum(['ON', 'OFF']).optional(),
  brightness: z.number().int('must be a whole number').min(0).max(254).optional(),
  /** Seconds. */
  transition: z.number().min(0).max(90).optional(),
  /**
   * Home Assistant's JSON light sends it when asked to flash: the flash time in seconds (its
   * flash_time_short/long, 2 and 10 by default); other bridges say short/long. Accepted, not acted on.
   */
  flash: z.union([z.number().min(0).max(3600), z.enum(['short', 'long'])]).optional(),
});

export const lightGet = z.strictObject({
  state: z.literal('').optional(),
  brightness: z.literal('').optional(),
});
