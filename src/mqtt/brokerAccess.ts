import { createHash, timingSafeEqual } from 'node:crypto';
import { NODE_PREFIX } from '../bridge/discovery.js';
import { topicMatches } from './topics.js';

// Who may do what on the embedded broker, as pure decisions (the broker's Aedes hooks ask these).
// Without `mqtt.user` nobody logs in and everything is open, as it always was: the broker then sits on
// loopback unless `mqtt.embedded_host` says otherwise. With it, every client must log in, either as
// the gateway (`mqtt.user`) or as one of `mqtt.embedded_users` (Home Assistant), and only the gateway
// may publish what the gateway publishes: its state, availability and bridge topics under the base
// topic, and the discovery configs of its own nodes. The others send commands and read.

export interface Login {
  user: string;
  password: string;
}

export interface BrokerAccessRules {
  /** The gateway's own login; absent: no logins at all (anonymous clients, no topic rules). */
  gateway?: Login;
  /** Other clients allowed in (Home Assistant): they read everything and publish commands. */
  others: readonly Login[];
  baseTopic: string;
  discoveryPrefix: string;
  /** `mqtt.client_id`: the gateway's session; another login asking for it would take it over. */
  gatewayClientId?: string;
}

/** Who a client logged in as. */
export type BrokerRole = 'gateway' | 'other' | 'anonymous';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Equal without telling by its timing how much was equal: both sides are hashed to one length first. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The role of a client that logs in with `user` and `password`, or null when it is refused. */
export function authenticate(
  rules: BrokerAccessRules,
  user: string | undefined,
  password: string | undefined,
): BrokerRole | null {
  if (rules.gateway === undefined) return 'anonymous';
  if (user === undefined || password === undefined) return null;
  // Every login is compared, the gateway's too, so the time taken says nothing about which matched.
  let role: BrokerRole | null = null;
  for (const [login, candidate] of [
    [rules.gateway, 'gateway'],
    ...rules.others.map((other) => [other, 'other'] as const),
  ] as const) {
    const matches = sameSecret(user, login.user) && sameSecret(password, login.password);
    if (matches && role === null) role = candidate;
  }
  return role;
}

/**
 * Why a client that logged in as `role` may not have `clientId`, or null. MQTT lets a new connection
 * with a client id take over the session of the one holding it: another login with the gateway's id
 * would throw the gateway off the broker and receive the commands queued in its session.
 */
export function clientIdRefusal(rules: BrokerAccessRules, role: BrokerRole, clientId: string): string | null {
  if (role !== 'other' || rules.gatewayClientId === undefined || clientId !== rules.gatewayClientId) {
    return null;
  }
  return `client id "${clientId}" is the gateway's (mqtt.client_id); only the gateway's login may use it`;
}

/** The filters of the topics the gateway receives commands on (anyone logged in may publish there). */
export function commandFilters(baseTopic: string): string[] {
  return [`${baseTopic}/+/set`, `${baseTopic}/+/get`, `${baseTopic}/bridge/request/#`];
}

/** Whether the gateway alone publishes `topic`: under its base topic, or its own discovery config. */
export function isGatewayTopic(rules: BrokerAccessRules, topic: string): boolean {
  if (commandFilters(rules.baseTopic).some((filter) => topicMatches(filter, topic))) return false;
  if (topicMatches(`${rules.baseTopic}/#`, topic)) return true;
  // <prefix>/<component>/<node>/<object>/config (also <prefix>/<component>/<node>/config)
  const levels = topic.split('/');
  const prefixLevels = rules.discoveryPrefix.split('/').length;
  const node = levels[prefixLevels + 1];
  return (
    topicMatches(`${rules.discoveryPrefix}/#`, topic) && node !== undefined && node.startsWith(NODE_PREFIX)
  );
}

/** Why a publish by a client in `role` to `topic` is refused, or null when it may. */
export function publishRefusal(rules: BrokerAccessRules, role: BrokerRole, topic: string): string | null {
  if (role === 'gateway' || role === 'anonymous') return null;
  if (isGatewayTopic(rules, topic)) return `${topic} is published by the gateway only`;
  return null;
}
