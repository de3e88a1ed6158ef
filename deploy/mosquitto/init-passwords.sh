#!/bin/sh
# Entry point of the Compose Mosquitto: writes the password file from the environment at every start
# (a changed .env takes effect with the next `docker compose up -d`), then runs the given command (the
# image's own entry point and mosquitto, see docker-compose.yml). MOSQUITTO_PASSWORD_FILE moves the
# file (the tests run this script against a temporary directory).
set -eu
: "${FIELDBRIDGE_MQTT_PASSWORD:?is not set: put it in .env next to docker-compose.yml (README: Security)}"
: "${HA_MQTT_PASSWORD:?is not set: put it in .env next to docker-compose.yml (README: Security)}"
passwords="${MOSQUITTO_PASSWORD_FILE:-/mosquitto/data/passwords}"
umask 077
mosquitto_passwd -c -b "$passwords" fieldbridge "$FIELDBRIDGE_MQTT_PASSWORD"
mosquitto_passwd -b "$passwords" homeassistant "$HA_MQTT_PASSWORD"
# Readable by the broker only: it reads the file after dropping root for the mosquitto user.
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then chown mosquitto:mosquitto "$passwords"; fi
exec "$@"
