import { parseRequestFromText } from '../bridge/requests.js';
import type { ScanRequest } from '../gateway/scans.js';
import { scannableDrivers } from '../drivers/registry.js';
import { HttpError } from './access.js';

/**
 * `POST /trigger-scan?driver=mbus&port=/dev/ttyUSB0&from=0&to=250` or
 * `?driver=ble&adapter=hci0&duration_s=30` → a checked scan request.
 */
export function scanRequestOf(query: URLSearchParams): ScanRequest {
  const driver = query.get('driver');
  if (driver === null || driver === '') {
    throw new HttpError(400, `missing driver: POST /trigger-scan?driver=${scannableDrivers().join('|')}`);
  }
  // The same checks as the MQTT `scan` request, so both refuse the same things with the same words
  // (an unknown driver, a field the driver's scan does not take).
  const parsed = parseRequestFromText('scan', query);
  if (!parsed.ok) throw new HttpError(400, `bad scan request: ${parsed.error}`);
  if (parsed.value.name !== 'scan') throw new HttpError(500, 'scan request parsed as another request');
  const { name: _name, ...request } = parsed.value;
  return request;
}
