// Text for an XML or HTML document (the status page, a dbus-daemon config): the characters that
// would end a text node or an attribute value are written as entities.

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
