// Home Assistant's rules for what fieldbridge publishes, to check every discovery config against.
//
// The tables are Home Assistant's own, copied from its source (home-assistant/core):
// - homeassistant/components/sensor/const.py at commit 00eb6680fbf6bdf7af2499095f2e74fca980a148
//   (2025.x, with temperature_delta): DEVICE_CLASS_UNITS and DEVICE_CLASS_STATE_CLASSES;
// - the unit enums those refer to from homeassistant/const.py of HA 2025.5.0b6 (UnitOfEnergy, …);
// - BinarySensorDeviceClass from homeassistant/components/binary_sensor/__init__.py (28 classes).
// Where HA versions differ (m³/min, mPa came later), the older, smaller set is kept: what passes here
// is accepted by the older releases too.

const PERCENTAGE = '%';
const MICROGRAMS_PER_CUBIC_METER = 'µg/m³';
const ENERGY = [
  'J',
  'kJ',
  'MJ',
  'GJ',
  'mWh',
  'Wh',
  'kWh',
  'MWh',
  'GWh',
  'TWh',
  'cal',
  'kcal',
  'Mcal',
  'Gcal',
];
const VOLUME = ['ft³', 'CCF', 'm³', 'L', 'mL', 'gal', 'fl. oz.'];
const PRESSURE = ['Pa', 'hPa', 'kPa', 'bar', 'cbar', 'mbar', 'mmHg', 'inHg', 'psi'];
const LENGTH = ['mm', 'cm', 'm', 'km', 'in', 'ft', 'yd', 'mi', 'nmi'];
const SPEED = ['Beaufort', 'ft/s', 'in/s', 'm/s', 'km/h', 'kn', 'mph', 'mm/s'];
const VOLUMETRIC_FLUX = ['in/d', 'in/h', 'mm/d', 'mm/h'];
const TEMPERATURE = ['°C', '°F', 'K'];
const INFORMATION = ['bit', 'kbit', 'Mbit', 'Gbit', 'B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** DEVICE_CLASS_UNITS: the units a sensor of each numeric device class may have (null: none). */
export const SENSOR_DEVICE_CLASS_UNITS: Readonly<Record<string, readonly (string | null)[]>> = {
  apparent_power: ['VA'],
  aqi: [null],
  area: ['m²', 'cm²', 'km²', 'mm²', 'in²', 'ft²', 'yd²', 'mi²', 'ac', 'ha'],
  atmospheric_pressure: PRESSURE,
  battery: [PERCENTAGE],
  blood_glucose_concentration: ['mg/dL', 'mmol/L'],
  carbon_monoxide: ['ppm'],
  carbon_dioxide: ['ppm'],
  conductivity: ['S/cm', 'µS/cm', 'mS/cm'],
  current: ['mA', 'A'],
  data_rate: [
    'bit/s',
    'kbit/s',
    'Mbit/s',
    'Gbit/s',
    'B/s',
    'kB/s',
    'MB/s',
    'GB/s',
    'KiB/s',
    'MiB/s',
    'GiB/s',
  ],
  data_size: INFORMATION,
  distance: LENGTH,
  duration: ['d', 'h', 'min', 's', 'ms'],
  energy: ENERGY,
  energy_distance: ['kWh/100km', 'mi/kWh', 'km/kWh'],
  energy_storage: ENERGY,
  frequency: ['Hz', 'kHz', 'MHz', 'GHz'],
  gas: ['CCF', 'ft³', 'm³'],
  humidity: [PERCENTAGE],
  illuminance: ['lx'],
  irradiance: ['W/m²', 'BTU/(h⋅ft²)'],
  moisture: [PERCENTAGE],
  nitrogen_dioxide: [MICROGRAMS_PER_CUBIC_METER],
  nitrogen_monoxide: [MICROGRAMS_PER_CUBIC_METER],
  nitrous_oxide: [MICROGRAMS_PER_CUBIC_METER],
  ozone: [MICROGRAMS_PER_CUBIC_METER],
  ph: [null],
  pm1: [MICROGRAMS_PER_CUBIC_METER],
  pm10: [MICROGRAMS_PER_CUBIC_METER],
  pm25: [MICROGRAMS_PER_CUBIC_METER],
  power_factor: [PERCENTAGE, null],
  power: ['W', 'kW', 'MW', 'GW', 'TW'],
  precipitation: ['in', 'mm', 'cm'],
  precipitation_intensity: VOLUMETRIC_FLUX,
  pressure: PRESSURE,
  reactive_power: ['var'],
  signal_strength: ['dB', 'dBm'],
  sound_pressure: ['dB', 'dBA'],
  speed: [...SPEED, ...VOLUMETRIC_FLUX],
  sulphur_dioxide: [MICROGRAMS_PER_CUBIC_METER],
  temperature: TEMPERATURE,
  temperature_delta: TEMPERATURE,
  volatile_organic_compounds: [MICROGRAMS_PER_CUBIC_METER],
  volatile_organic_compounds_parts: ['ppb', 'ppm'],
  voltage: ['µV', 'mV', 'V', 'kV', 'MV'],
  volume: VOLUME,
  volume_flow_rate: ['m³/h', 'm³/s', 'ft³/min', 'L/h', 'L/min', 'L/s', 'gal/min', 'mL/s'],
  volume_storage: VOLUME,
  water: ['CCF', 'ft³', 'm³', 'gal', 'L'],
  weight: ['g', 'kg', 'mg', 'µg', 'oz', 'lb', 'st'],
  wind_direction: ['°'],
  wind_speed: SPEED,
};

const MEASUREMENT = ['measurement'] as const;
const TOTALS = ['total', 'total_increasing'] as const;
export const ANY = ['measurement', 'total', 'total_increasing'] as const;

/** DEVICE_CLASS_STATE_CLASSES: every sensor device class, with the state classes it allows. */
export const SENSOR_DEVICE_CLASS_STATE_CLASSES: Readonly<Record<string, readonly string[]>> = {
  apparent_power: MEASUREMENT,
  aqi: MEASUREMENT,
  area: ANY,
  atmospheric_pressure: MEASUREMENT,
  battery: MEASUREMENT,
  blood_glucose_concentration: MEASUREMENT,
  carbon_monoxide: MEASUREMENT,
  carbon_dioxide: MEASUREMENT,
  conductivity: MEASUREMENT,
  current: MEASUREMENT,
  data_rate: MEASUREMENT,
  data_size: ANY,
  date: [],
  distance: ANY,
  duration: ANY,
  energy: TOTALS,
  energy_distance: MEASUREMENT,
  energy_storage: MEASUREMENT,
  enum: [],
  frequency: MEASUREMENT,
  gas: TOTALS,
  humidity: MEASUREMENT,
  illuminance: MEASUREMENT,
  irradiance: MEASUREMENT,
  moisture: MEASUREMENT,
  monetary: ['total'],
  nitrogen_dioxide: MEASUREMENT,
  nitrogen_monoxide: MEASUREMENT,
  nitrous_oxide: MEASUREMENT,
  ozone: MEASUREMENT,
  ph: MEASUREMENT,
  pm1: MEASUREMENT,
  pm10: MEASUREMENT,
  pm25: MEASUREMENT,
  power_factor: MEASUREMENT,
  power: MEASUREMENT,
  precipitation: ANY,
  precipitation_intensity: MEASUREMENT,
  pressure: MEASUREMENT,
  reactive_power: MEASUREMENT,
  signal_strength: MEASUREMENT,
  sound_pressure: MEASUREMENT,
  speed: MEASUREMENT,
  sulphur_dioxide: MEASUREMENT,
  temperature: MEASUREMENT,
  temperature_delta: MEASUREMENT,
  timestamp: [],
  volatile_organic_compounds: MEASUREMENT,
  volatile_organic_compounds_parts: MEASUREMENT,
  voltage: MEASUREMENT,
  volume: TOTALS,
  volume_storage: MEASUREMENT,
  volume_flow_rate: MEASUREMENT,
  water: TOTALS,
  weight: ANY,
  wind_direction: [],
  wind_speed: MEASUREMENT,
};

/** NON_NUMERIC_DEVICE_CLASSES: no unit, no state class, a text state. */
export const NON_NUMERIC = new Set(['date', 'enum', 'timestamp']);

export const BINARY_SENSOR_DEVICE_CLASSES: ReadonlySet<string> = new Set([
  'battery',
  'battery_charging',
  'carbon_monoxide',
  'cold',
  'connectivity',
  'door',
  'garage_door',
  'gas',
  'heat',
  'light',
  'lock',
  'moisture',
  'motion',
  'moving',
  'occupancy',
  'opening',
  'plug',
  'power',
  'presence',
  'problem',
  'running',
  'safety',
  'smoke',
  'sound',
  'tamper',
  'update',
  'vibration',
  'window',
]);

/** homeassistant/components/switch/__init__.py SwitchDeviceClass. */
export const SWITCH_DEVICE_CLASSES: ReadonlySet<string> = new Set(['outlet', 'switch']);
