import type { DriverRequest } from '../contract.js';
import { type DaliCenterScanRequest, daliCenterPairFields } from './lineScan.js';

// `<base>/bridge/request/dalicenter/pair`: pairing as a request of its own. It is the scan with
// `pair: true` (also `POST /trigger-scan?driver=dalicenter&pair=true`), run through the gateway's
// scanner, which stores what it found and applies it: each paired gateway runs at once.

export const pairRequest: DriverRequest = {
  schema: daliCenterPairFields,
  async run(fields, context) {
    if (!context.scan) return { error: 'this gateway cannot store paired gateways' };
    const request: DaliCenterScanRequest = {
      driver: 'dalicenter',
      pair: true,
      ...daliCenterPairFields.parse(fields),
    };
    const outcome = await context.scan(request);
    return outcome.ok ? { data: outcome.data } : { error: outcome.error };
  },
};
