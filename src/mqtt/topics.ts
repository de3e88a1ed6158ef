// Topic names the link itself uses, and MQTT's filter matching (the link routes incoming messages to the
// handlers whose filters match, since one client subscription may serve several handlers).

/** Where the bridge says whether it is up; the Last Will sets it to offline when we vanish. */
export function bridgeStateTopic(baseTopic: string): string {
  return `${baseTopic}/bridge/state`;
}

export const BRIDGE_ONLINE = JSON.stringify({ state: 'online' });
export const BRIDGE_OFFLINE = JSON.stringify({ state: 'offline' });

/**
 * MQTT filter matching: `+` is one level, a trailing `#` is that level and everything below it
 * (`a/#` matches `a` too), and wildcards in the first level do not match `$SYS`-style topics.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i];
    if (level === '#') return true;
    if (i >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}
