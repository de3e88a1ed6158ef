import { createRequire } from 'node:module';
import dbus, { type Variant as DbusVariant } from 'dbus-next';
import { errorText } from '../../../../errorText.js';

// A small D-Bus service layer over dbus-next for the fake BlueZ: objects made of interfaces with
// properties and methods, an ObjectManager at `/`, and one hook that sees every incoming call first (to
// count it, or to leave it unanswered as a hung bluetoothd does). dbus-next is used for the connection,
// introspection and signals; Properties and methods are answered here because dbus-next's own handlers
// fail a GetAll when one property is absent (BlueZ omits RSSI, ServiceData… until it has them) and
// answer a Set of a read-only property twice.

export const PROPERTIES_INTERFACE = 'org.freedesktop.DBus.Properties';
export const OBJECT_MANAGER_INTERFACE = 'org.freedesktop.DBus.ObjectManager';
const INTROSPECTABLE_INTERFACE = 'org.freedesktop.DBus.Introspectable';
const PEER_INTERFACE = 'org.freedesktop.DBus.Peer';
/** Listed by BlueZ for every object in GetManagedObjects and InterfacesAdded/Removed. */
const STANDARD_INTERFACES = [INTROSPECTABLE_INTERFACE, PROPERTIES_INTERFACE];

const INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs';
const UNKNOWN_METHOD = 'org.freedesktop.DBus.Error.UnknownMethod';
const UNKNOWN_OBJECT = 'org.freedesktop.DBus.Error.UnknownObject';
const PROPERTY_READ_ONLY = 'org.freedesktop.DBus.Error.PropertyReadOnly';

/** dbus-next's Variant, with `unknown` for its value instead of `any`. */
export type Variant = DbusVariant<unknown>;
export const Variant = dbus.Variant;
export const DBusError = dbus.DBusError;
type DbusMessage = InstanceType<typeof dbus.Message>;
type MessageBus = ReturnType<typeof dbus.sessionBus>;

export interface PropertySpec {
  signature: string;
  /** The value as dbus-next marshals it for `signature` (Buffer for ay); undefined: absent, as in BlueZ. */
  get(): unknown;
  /** Present for read-write properties; may throw a DBusError to refuse the value. */
  set?(value: unknown): void;
}

export interface MethodSpec {
  inSignature?: string;
  outSignature?: string;
  /** The reply: undefined for none, else the one out argument (all these BlueZ methods have at most one). */
  call(args: readonly unknown[], caller: string): unknown;
}

export interface InterfaceSpec {
  name: string;
  properties?: Readonly<Record<string, PropertySpec>>;
  methods?: Readonly<Record<string, MethodSpec>>;
}

/** One method call as it arrived, before it is answered. */
export interface IncomingCall {
  path: string;
  interface: string;
  member: string;
  /** The caller's unique name (:1.42). */
  sender: string;
  /** The property of Properties.Get/Set, the interface of GetAll. */
  target?: string;
}

/** 'hang': never answer (the caller's own timeout is all that helps). */
export type CallDecision = 'serve' | 'hang';

export interface ServiceOptions {
  busAddress: string;
  /** Sees every call first. */
  onCall?: (call: IncomingCall) => CallDecision;
  /** A client (unique name) left the bus: BlueZ ends that client's discovery session. */
  onClientGone?: (uniqueName: string) => void;
}

let numericKeysAllowed = false;

/**
 * dbus-next 0.10 refuses integer dictionary keys (a{qv}, BlueZ's ManufacturerData) because JavaScript
 * object keys are strings (upstream issue #79, unmerged PR #100 does the same as this). Numeric strings
 * are turned back into numbers for integer types; anything else still fails as before. Process-wide and
 * idempotent; it only makes accepted what used to throw.
 */
export function allowNumericDictKeys(): void {
  if (numericKeysAllowed) return;
  numericKeysAllowed = true;
  interface SimpleMarshaller {
    marshall(this: SimpleMarshaller, stream: unknown, data: unknown): unknown;
  }
  const marshallers = createRequire(import.meta.url)('dbus-next/lib/marshallers.js') as {
    MakeSimpleMarshaller: (signature: string) => SimpleMarshaller;
  };
  const original = marshallers.MakeSimpleMarshaller;
  marshallers.MakeSimpleMarshaller = (signature) => {
    const marshaller = original(signature);
    if (!'ynqiu'.includes(signature) || signature.length !== 1) return marshaller;
    const marshall = marshaller.marshall;
    marshaller.marshall = function (stream, data) {
      const value = typeof data === 'string' && /^-?\d+$/.test(data) ? Number(data) : data;
      return marshall.call(this, stream, value);
    };
    return marshaller;
  };
}

/** A dbus-next Interface carrying only the declarations, for Introspect and emitPropertiesChanged. */
function declaredInterface(spec: InterfaceSpec): InstanceType<typeof dbus.interface.Interface> {
  class Declared extends dbus.interface.Interface {}
  const properties: Record<string, { signature: string; access: 'read' | 'readwrite' }> = {};
  for (const [name, property] of Object.entries(spec.properties ?? {})) {
    properties[name] = { signature: property.signature, access: property.set ? 'readwrite' : 'read' };
  }
  const methods: Record<string, { inSignature: string; outSignature: string }> = {};
  for (const [name, method] of Object.entries(spec.methods ?? {})) {
    methods[name] = { inSignature: method.inSignature ?? '', outSignature: method.outSignature ?? '' };
  }
  Declared.configureMembers({ properties, methods });
  return new Declared(spec.name);
}

interface ServedObject {
  specs: Map<string, InterfaceSpec>;
  declared: Map<string, InstanceType<typeof dbus.interface.Interface>>;
}

/** A method return: its signature and body. */
interface Reply {
  signature: string;
  body: unknown[];
}

export type ManagedObjects = Record<string, Record<string, Record<string, Variant>>>;

/** One connection to the bus serving a tree of objects; a bluetoothd restart is a new ServiceConnection. */
export class ServiceConnection {
  readonly #bus: MessageBus;
  readonly #options: ServiceOptions;
  readonly #objects = new Map<string, ServedObject>();
  #uniqueName = '';
  #closed = false;

  private constructor(bus: MessageBus, options: ServiceOptions) {
    this.#bus = bus;
    this.#options = options;
  }

  /** Connects, serves the ObjectManager at `/` and watches clients leave; does not own a name yet. */
  static async connect(options: ServiceOptions): Promise<ServiceConnection> {
    allowNumericDictKeys();
    const bus = dbus.sessionBus({ busAddress: options.busAddress });
    await new Promise<void>((resolve, reject) => {
      bus.once('connect', () => resolve());
      bus.once('error', (error: unknown) =>
        reject(error instanceof Error ? error : new Error(String(error))),
      );
    });
    const service = new ServiceConnection(bus, options);
    // After connecting, a broken socket must not crash the process: the simulator is stopping anyway.
    bus.on('error', () => undefined);
    bus.addMethodHandler((message: DbusMessage) => service.#handle(message));
    bus.on('message', (message: DbusMessage) => service.#watchClients(message));
    service.#uniqueName = (bus as unknown as { name: string }).name;
    await service.#callBus(
      'AddMatch',
      's',
      "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged'",
    );
    service.add('/', [
      {
        name: OBJECT_MANAGER_INTERFACE,
        methods: {
          GetManagedObjects: { outSignature: 'a{oa{sa{sv}}}', call: () => service.managedObjects() },
        },
      },
    ]);
    return service;
  }

  get uniqueName(): string {
    return this.#uniqueName;
  }

  /** Owns `name`; fails if another connection has it (a second bluetoothd). */
  async requestName(name: string): Promise<void> {
    const reply = await this.#bus.requestName(name, dbus.NameFlag.DO_NOT_QUEUE);
    if (reply !== dbus.RequestNameReply.PRIMARY_OWNER && reply !== dbus.RequestNameReply.ALREADY_OWNER) {
      throw new Error(`cannot own ${name} on the bus: another connection has it`);
    }
  }

  /** Exports an object; `announce` sends InterfacesAdded from `/` (not for `/` itself). */
  add(path: string, specs: readonly InterfaceSpec[], announce = path !== '/'): void {
    if (this.#objects.has(path)) throw new Error(`object ${path} is already exported`);
    const object: ServedObject = { specs: new Map(), declared: new Map() };
    for (const spec of specs) {
      const declared = declaredInterface(spec);
      object.specs.set(spec.name, spec);
      object.declared.set(spec.name, declared);
      this.#bus.export(path, declared);
    }
    this.#objects.set(path, object);
    if (announce) {
      this.#signal('/', OBJECT_MANAGER_INTERFACE, 'InterfacesAdded', 'oa{sa{sv}}', [
        path,
        this.#interfacesOf(object),
      ]);
    }
  }

  /** Unexports an object and sends InterfacesRemoved. */
  remove(path: string): void {
    const object = this.#objects.get(path);
    if (object === undefined) return;
    this.#objects.delete(path);
    for (const declared of object.declared.values()) this.#bus.unexport(path, declared);
    this.#signal('/', OBJECT_MANAGER_INTERFACE, 'InterfacesRemoved', 'oas', [
      path,
      [...STANDARD_INTERFACES, ...object.specs.keys()],
    ]);
  }

  /** PropertiesChanged with the current values of `names` (absent ones are left out). */
  propertiesChanged(path: string, interfaceName: string, names: readonly string[]): void {
    const declared = this.#objects.get(path)?.declared.get(interfaceName);
    const spec = this.#objects.get(path)?.specs.get(interfaceName);
    if (declared === undefined || spec === undefined || this.#closed) return;
    const changed: Record<string, unknown> = {};
    for (const name of names) {
      const value = spec.properties?.[name]?.get();
      if (value !== undefined) changed[name] = value;
    }
    if (Object.keys(changed).length === 0) return;
    // dbus-next wraps each value in a Variant of the declared signature and sends it from `path`.
    dbus.interface.Interface.emitPropertiesChanged(declared, changed, []);
  }

  /** What GetManagedObjects answers: every object but `/`, each interface with its present properties. */
  managedObjects(): ManagedObjects {
    const result: ManagedObjects = {};
    for (const [path, object] of this.#objects) {
      if (path !== '/') result[path] = this.#interfacesOf(object);
    }
    return result;
  }

  /** Leaves the bus at once, as a killed bluetoothd does: the name is gone, pending calls are dropped. */
  disconnect(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#bus.disconnect();
  }

  #interfacesOf(object: ServedObject): Record<string, Record<string, Variant>> {
    const interfaces: Record<string, Record<string, Variant>> = {};
    for (const name of STANDARD_INTERFACES) interfaces[name] = {};
    for (const [name, spec] of object.specs) interfaces[name] = this.#propertiesOf(spec);
    return interfaces;
  }

  #propertiesOf(spec: InterfaceSpec): Record<string, Variant> {
    const values: Record<string, Variant> = {};
    for (const [name, property] of Object.entries(spec.properties ?? {})) {
      const value = property.get();
      if (value !== undefined) values[name] = new Variant(property.signature, value);
    }
    return values;
  }

  #signal(path: string, iface: string, member: string, signature: string, body: unknown[]): void {
    if (this.#closed) return;
    this.#bus.send(dbus.Message.newSignal(path, iface, member, signature, body));
  }

  async #callBus(member: string, signature: string, ...body: unknown[]): Promise<void> {
    await this.#bus.call(
      new dbus.Message({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        interface: 'org.freedesktop.DBus',
        member,
        signature,
        body,
      }),
    );
  }

  #watchClients(message: DbusMessage): void {
    if (message.type !== dbus.MessageType.SIGNAL || message.member !== 'NameOwnerChanged') return;
    const [name, , newOwner] = message.body as unknown[];
    if (typeof name === 'string' && name.startsWith(':') && newOwner === '' && name !== this.#uniqueName) {
      this.#options.onClientGone?.(name);
    }
  }

  /** Every method call addressed to this connection; true: handled here (answered, or hung on purpose). */
  #handle(message: DbusMessage): boolean {
    const args = (message.body ?? []) as unknown[];
    const iface = message.interface ?? '';
    const call: IncomingCall = {
      path: message.path,
      interface: iface,
      member: message.member,
      sender: message.sender,
    };
    if (iface === PROPERTIES_INTERFACE && typeof args[0] === 'string') {
      call.target = message.member === 'GetAll' ? args[0] : typeof args[1] === 'string' ? args[1] : undefined;
    }
    if (this.#options.onCall?.(call) === 'hang') return true;
    // Introspection and Ping stay dbus-next's (it also introspects the inner nodes /org and /org/bluez).
    if (iface === INTROSPECTABLE_INTERFACE || iface === PEER_INTERFACE) return false;
    try {
      const reply = this.#answer(message, args);
      if (reply instanceof Promise) {
        reply.then(
          (value: Reply) => this.#reply(message, value),
          (error: unknown) => this.#replyError(message, error),
        );
      } else {
        this.#reply(message, reply);
      }
    } catch (error) {
      this.#replyError(message, error);
    }
    return true;
  }

  #answer(message: DbusMessage, args: readonly unknown[]): Reply | Promise<Reply> {
    const object = this.#objects.get(message.path);
    if (object === undefined) throw new DBusError(UNKNOWN_OBJECT, `No such object path '${message.path}'`);
    const signature = message.signature ?? '';
    if (message.interface === PROPERTIES_INTERFACE) {
      return this.#properties(object, message.member, signature, args);
    }
    const spec = object.specs.get(message.interface ?? '');
    const method = spec?.methods?.[message.member];
    if (method === undefined || (method.inSignature ?? '') !== signature) {
      throw new DBusError(
        UNKNOWN_METHOD,
        `Method "${message.member}" with signature "${signature}" on interface "${message.interface}" doesn't exist`,
      );
    }
    const outSignature = method.outSignature ?? '';
    const wrap = (value: unknown) => ({ signature: outSignature, body: value === undefined ? [] : [value] });
    const result = method.call(args, message.sender);
    return result instanceof Promise ? result.then(wrap) : wrap(result);
  }

  #properties(object: ServedObject, member: string, signature: string, args: readonly unknown[]): Reply {
    const [interfaceName, propertyName, value] = args;
    const spec = typeof interfaceName === 'string' ? object.specs.get(interfaceName) : undefined;
    if (member === 'GetAll' && signature === 's') {
      return { signature: 'a{sv}', body: [spec === undefined ? {} : this.#propertiesOf(spec)] };
    }
    if (spec === undefined) throw new DBusError(INVALID_ARGS, `No such interface '${String(interfaceName)}'`);
    const property = typeof propertyName === 'string' ? spec.properties?.[propertyName] : undefined;
    const current = property?.get();
    if (member === 'Get' && signature === 'ss') {
      if (property === undefined || current === undefined) {
        throw new DBusError(INVALID_ARGS, `No such property '${String(propertyName)}'`);
      }
      return { signature: 'v', body: [new Variant(property.signature, current)] };
    }
    if (member === 'Set' && signature === 'ssv') {
      if (property === undefined) {
        throw new DBusError(INVALID_ARGS, `No such property '${String(propertyName)}'`);
      }
      if (property.set === undefined) {
        throw new DBusError(PROPERTY_READ_ONLY, `Property '${String(propertyName)}' is not writable`);
      }
      if (!(value instanceof Variant) || value.signature !== property.signature) {
        throw new DBusError(INVALID_ARGS, `Invalid argument type: '${property.signature}' expected`);
      }
      property.set(value.value);
      return { signature: '', body: [] };
    }
    throw new DBusError(UNKNOWN_METHOD, `Method "${member}" with signature "${signature}" doesn't exist`);
  }

  #reply(message: DbusMessage, reply: Reply): void {
    if (this.#closed) return;
    try {
      this.#bus.send(dbus.Message.newMethodReturn(message, reply.signature, reply.body));
    } catch (error) {
      // A value that does not marshal is the simulator's bug; the caller gets it as an error, not silence.
      this.#replyError(message, error);
    }
  }

  #replyError(message: DbusMessage, error: unknown): void {
    if (this.#closed) return;
    const [name, text] =
      error instanceof DBusError ? [error.type, error.text] : ['org.bluez.Error.Failed', errorText(error)];
    // dbus-next's types say newError takes a string; its code (and newMethodReturn's types) take the call.
    this.#bus.send(dbus.Message.newError(message as unknown as string, name, text));
  }
}
