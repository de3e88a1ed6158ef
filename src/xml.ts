// A leaf: the HTTP pages and the fake BlueZ's dbus-daemon config both put text into markup.

/** Text safe inside XML/HTML element content and double-quoted attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
