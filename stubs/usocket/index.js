// dbus-next loads usocket inside try/catch and falls back to plain sockets when it is missing.
throw new Error('usocket is not installed in fieldbridge (stub): Unix fd passing over D-Bus is not supported');
