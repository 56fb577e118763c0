"""A minimal MQTT 3.1.1 publisher for the DataTransfer engine (no paho-mqtt needed).

It does what the engine needs and nothing more: CONNECT with a clean session
and a unique client id, PUBLISH at QoS 0 (optionally retained), PINGREQ when
the connection has been idle for half the keep-alive, DISCONNECT.

It never holds up a simulation for long:

* every socket operation has a timeout (``connect_timeout`` for the first
  connection, made at ``initialize()``; ``RECONNECT_TIMEOUT`` later, during
  steps; ``SEND_TIMEOUT`` for a send);
* when the broker cannot be reached or a send fails, the connection is
  dropped, one warning is printed and ``publish`` returns False at once until
  the next reconnect attempt, which waits 1 s after the first failure and
  then twice as long each time, up to 30 s;
* a connection closed by the broker is noticed before the next publish after
  an idle period, so the message goes to a new connection instead of being
  lost.
"""

import os
import select
import socket
import struct
import time

__all__ = ["MqttPublisher", "RelayPublisher", "make_publisher", "parse_broker", "set_relay", "valid_topic"]

KEEP_ALIVE = 60
SEND_TIMEOUT = 1.0
RECONNECT_TIMEOUT = 0.25
FIRST_RETRY = 1.0
MAX_RETRY = 30.0
MAX_REMAINING_LENGTH = 268435455

_PINGREQ = b"\xc0\x00"
_DISCONNECT = b"\xe0\x00"
_CONNACK_CODES = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}


# When the host runs the simulation in a worker process of its own, it publishes for the engine on its own MQTT
# connection (a sandboxed worker has no network): ``relay(topic, payload, retain)`` hands a message over and returns
# whether it was taken. Set once per worker by the host (``set_relay``), before any engine starts.
_relay = None


def set_relay(relay):
    """Publish through ``relay`` instead of a connection of the engine's own (``None``: connect to the broker)."""
    global _relay
    _relay = relay


class RelayPublisher:
    """The :class:`MqttPublisher` interface over the host's relay: always connected, never blocks a step."""

    def __init__(self, relay):
        self._relay = relay
        self.on_reconnect = None

    @property
    def connected(self):
        return True

    def connect(self):
        return True

    def publish(self, topic, payload, retain=False):
        return bool(self._relay(topic, bytes(payload), bool(retain)))

    def close(self):
        pass


def make_publisher(host, port, client_id, warn):
    """The publisher for a data-transfer engine: the host's relay when there is one, else a connection to the broker."""
    if _relay is not None:
        return RelayPublisher(_relay)
    return MqttPublisher(host, port, client_id, warn)


def parse_broker(address):
    """``host:port``, ``[v6]:port`` or a bare host (port 1883) -> (host, port); ValueError otherwise."""
    text = str(address).strip()
    for scheme in ("tcp://", "mqtt://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ("" if not rest else None)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif ":" not in text:
        host, port_text = text, ""
    else:
        host, port_text = None, None
    if not host or port_text is None or any(c.isspace() for c in host):
        raise ValueError(f'MQTTBroker "{address}" is not host:port')
    if port_text == "":
        return host, 1883
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f'MQTTBroker "{address}" has no valid port (1-65535)')
    return host, int(port_text)


def valid_topic(topic):
    """True if ``topic`` can be published to: non-empty, no wildcards, no NUL, at most 65535 bytes."""
    return bool(topic) and not any(c in topic for c in "+#\0") and len(topic.encode("utf-8")) <= 65535


def _remaining_length(length):
    out = bytearray()
    while True:
        byte = length % 128
        length //= 128
        if length:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string(text):
    raw = text.encode("utf-8")
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id, keep_alive=KEEP_ALIVE):
    body = _string("MQTT") + bytes((4, 0x02)) + struct.pack("!H", keep_alive) + _string(client_id)
    return b"\x10" + _remaining_length(len(body)) + body


def publish_packet(topic, payload, retain=False):
    """A QoS 0 PUBLISH packet (no packet identifier)."""
    body_length = 2 + len(topic.encode("utf-8")) + len(payload)
    if body_length > MAX_REMAINING_LENGTH:
        raise ValueError(f"MQTT message of {len(payload)} bytes is larger than MQTT allows")
    return bytes((0x31 if retain else 0x30,)) + _remaining_length(body_length) + _string(topic) + payload


class MqttPublisher:
    """Publishes to one broker; see the module documentation for its failure rules."""

    def __init__(self, host, port, client_id, warn, connect_timeout=2.0, clock=time.monotonic):
        self.host = host
        self.port = port
        self.client_id = client_id
        self._warn = warn
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._sock = None
        self._last_sent = 0.0
        self._retry_at = 0.0
        self._retry_delay = FIRST_RETRY
        self._warned = False
        self._closed = False
        self.on_reconnect = None  # called after a connection other than the first one is made
        self._ever_connected = False

    @property
    def connected(self):
        return self._sock is not None

    def connect(self):
        """Connect now (at most ``connect_timeout``); True on success."""
        return self._open(self._connect_timeout)

    def _open(self, timeout):
        if self._closed:
            return False
        sock = None
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(connect_packet(self.client_id))
            ack = b""
            while len(ack) < 4:
                chunk = sock.recv(4 - len(ack))
                if not chunk:
                    raise ConnectionError("the broker closed the connection before CONNACK")
                ack += chunk
            if ack[0] != 0x20 or ack[1] != 2:
                raise ConnectionError(f"unexpected answer to CONNECT ({ack.hex()})")
            if ack[3] != 0:
                raise ConnectionError(f"connection refused: {_CONNACK_CODES.get(ack[3], ack[3])}")
            sock.settimeout(SEND_TIMEOUT)
        except (OSError, ConnectionError) as e:
            if sock is not None:
                sock.close()
            self._failed(f"cannot connect to the MQTT broker {self.host}:{self.port}: {e}")
            return False
        self._sock = sock
        self._last_sent = self._clock()
        self._retry_delay = FIRST_RETRY
        reconnected = self._ever_connected
        self._ever_connected = True
        if self._warned:
            self._warned = False
        if reconnected and self.on_reconnect is not None:
            self.on_reconnect()
        return True

    def _failed(self, message):
        self._drop()
        self._retry_at = self._clock() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, MAX_RETRY)
        if not self._warned:
            self._warned = True
            self._warn(f"{message}. Network data streaming is paused (data is still logged to files); the "
                       "broker is tried again during the next steps.")

    def _drop(self):
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _broker_closed(self, sock):
        """After an idle period: True if the broker has closed the connection (drains PINGRESPs)."""
        try:
            while select.select([sock], [], [], 0)[0]:
                if not sock.recv(4096, socket.MSG_DONTWAIT):
                    return True
        except OSError:
            return True
        return False

    def publish(self, topic, payload, retain=False):
        """Publish ``payload`` (bytes or str) at QoS 0; True if it was handed to the connection."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        sock = self._sock
        if sock is None:
            if self._closed or self._clock() < self._retry_at or not self._open(RECONNECT_TIMEOUT):
                return False
            sock = self._sock
        now = self._clock()
        if now - self._last_sent >= KEEP_ALIVE / 2:
            if self._broker_closed(sock):
                self._drop()
                if not self._open(RECONNECT_TIMEOUT):
                    return False
                sock = self._sock
            else:
                self._send(_PINGREQ)
                sock = self._sock
                if sock is None:
                    return False
        return self._send(publish_packet(topic, payload, retain))

    def _send(self, packet):
        try:
            self._sock.sendall(packet)
        except OSError as e:
            self._failed(f"sending to the MQTT broker {self.host}:{self.port} failed: {e}")
            return False
        self._last_sent = self._clock()
        return True

    def close(self):
        """Send DISCONNECT (best effort) and close; later publishes do nothing."""
        self._closed = True
        sock = self._sock
        if sock is not None:
            try:
                sock.sendall(_DISCONNECT)
            except OSError:
                pass
        self._drop()


def unique_client_id(prefix="nrp_dt"):
    return f"{prefix}_{os.urandom(6).hex()}"
