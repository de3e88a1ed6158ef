// What the application-layer decoder (EN 13757-3) returns. Names and strings follow libmbus's
// `mbus_parse_hex -n` (normalised) output, so a reading can be checked against libmbus by eye and by the
// conformance test, and so people who know libmbus recognise every field.

export interface MbusSlaveInfo {
  /**
   * The identification number: the 8 BCD digits of the header, zero-padded ("06855817"), as they appear
   * in a secondary address. libmbus prints the same digits without leading zeros. A nibble above 9 (not
   * BCD) is kept as its hex digit, as libmbus does.
   */
  id: string;
  /** Three letters (FLAG code, "KAM"); '' for a fixed data structure, which has none. */
  manufacturer: string;
  version: number;
  /** libmbus's product name for manufacturer + version (+ medium or id), '' when unknown. */
  product_name: string;
  /** libmbus's medium name ("Heat: Outlet", "Water", "Unknown medium (0x45)"). */
  medium: string;
  access_number: number;
  status: number;
  /** The two signature bytes as one number (second byte high); 0 for a fixed data structure. */
  signature: number;
}

export interface MbusRecord {
  /**
   * 'Instantaneous value' | 'Maximum value' | 'Minimum value' | 'Value during error state' for data
   * records, 'Manufacturer specific' | 'More records follow' for DIF 0F/1F, and for the two counters of
   * a fixed data structure (CI 73) 'Actual value' | 'Stored value'.
   */
  function: string;
  /** From DIF bit 6 and the DIFEs' low nibbles; 0 when there are no DIFEs. */
  storage_number: number;
  /** From the DIFEs (libmbus prints it only when there are DIFEs); 0 without DIFEs. */
  tariff: number;
  /** The subunit, from the DIFEs' bit 6; 0 without DIFEs. */
  device: number;
  /** Normalised unit as libmbus -n prints it: 'Wh', 'm^3', 'W', 'm^3/h', '°C', 'K', 's', 'V', 'A', '' … */
  unit: string;
  /** As libmbus -n: 'Energy', 'Volume', 'Power', 'Volume flow', 'Flow temperature', 'Time point (date)'… */
  quantity: string;
  /**
   * The SI-scaled number, or a string: a date ('YYYY-MM-DD', or 'YYYY-MM-DDTHH:MM:SS' in the meter's
   * local time), text (plain ASCII records), hex bytes ("0A 1B", manufacturer data and binary), or ''
   * when the record carries no data.
   */
  value: number | string;
  raw: {
    /** The number as the meter sent it (before scaling), or the same string as `value`. */
    value: number | string;
    /** libmbus's non-normalised unit string, e.g. 'Energy (10 Wh)', 'Volume (1e-2  m^3)'. */
    unit: string;
    /**
     * The power of ten applied: value = raw.value × 10^scale. Exceptions, where the unit conversion is
     * not a power of ten: durations are converted to seconds (minutes × 60, hours × 3600, days × 86400,
     * months and years as libmbus counts them), the reception level (FD 71) is 2 × raw − 130 dBm, and an
     * additive correction VIFE (78–7B) adds its constant after scaling, as libmbus does.
     */
    scale: number;
    /** Hex of the DIF and its DIFEs, e.g. "84 10". */
    dif: string;
    /** Hex of the VIF and its VIFEs, e.g. "FD 17" (a plain-text VIF's text is in `unit`); '' for DIF 0F/1F. */
    vif: string;
  };
}

export type MbusTelegramFrame = 'long' | 'control' | 'short' | 'ack';

export interface MbusTelegram {
  frame: MbusTelegramFrame;
  c: number;
  a: number;
  ci: number;
  /** For CI 0x73 from the fixed structure. */
  slave: MbusSlaveInfo;
  records: MbusRecord[];
  /** DIF 0x1F seen: the meter has more telegrams; the master asks again with FCB toggled. */
  moreRecordsFollow: boolean;
}
