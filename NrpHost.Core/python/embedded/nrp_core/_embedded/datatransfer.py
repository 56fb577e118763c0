"""The DataTransfer engine (``datatransfer_grpc_engine``), following nrp-core 1.4.

It takes part in the schedule like any engine (its time advances by its
``EngineTimestep``) and handles the protobuf datapacks sent to it that are
listed in its ``dumps``:

* **file** (``"file": true``): each datapack is written to
  ``<dataDirectory>/<yyyyMMdd-HHmmss>-<pid>/<name>-<reset count>.data``; each line starts
  with the engine time in seconds. ``Dump.String``: ``<time>,<string>``;
  ``Dump.ArrayFloat``: ``<time>,0,<v>,<v>...`` (1-D), or ``<time>,`` then one
  line ``<row>,<v>...`` per row when ``dims`` has two entries; other messages:
  a first line ``sim_time,<field>,<field>...`` then ``<time>,<value>,...``.
  Numbers are printed as nrp-core prints them (``std::to_string``).
* **network** (``"network": true``): each datapack is published on
  ``[MQTTPrefix/]nrp_simulation/<simulationID>/data/<name>`` at QoS 0, as a
  serialised ``EngineGrpc.DataPackMessage`` or, with
  ``"streamDataPackMessage": false``, as the bare message. The JSON list
  ``[{"topic": ..., "type": ...}]`` of these topics is published retained on
  ``…/data`` (``type`` is empty until the first datapack arrives) and set to
  ``[]`` at shutdown (nrp-core: an empty payload, which the NRP Frontend cannot
  parse; see DEVIATIONS.md); each topic gets ``reset`` on reset.

A reset starts new files (reset count + 1), without the field names, which only
the first file of a series gets; datapacks pending at a reset are neither logged
nor streamed (the reset cancels their step). A datapack that is not in
``dumps``, or a JSON datapack, is refused as nrp-core refuses it.
"""

import json
import os
import struct
import sys
import time

from .mqtt import make_publisher, parse_broker, unique_client_id, valid_topic
from .protobuf import DataPackMessage, DataPackIdentifierMessage, Message, pack_any

__all__ = ["DataTransferEngine", "DataPackRefused", "MQTT_BASE"]

MQTT_BASE = "nrp_simulation"
_F32 = struct.Struct("f")
# empty rows printed for a Dump.ArrayFloat whose dims ask for more rows than it has data (containment)
MAX_EMPTY_ROWS = 1024


class DataPackRefused(Exception):
    """A datapack was sent to an engine that does not accept it."""


def _f32(value):
    return _F32.unpack(_F32.pack(value))[0]


def seconds(time_ns):
    """``fromSimulationTime<float, std::ratio<1>>``: ns to seconds in single precision."""
    return _f32(_f32(float(time_ns)) / 1e9)


def _to_string(value):
    """``std::to_string`` of a scalar field value."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return "%f" % value
    if isinstance(value, int):
        return str(value)
    return value


class _Stream:
    """What happens to one datapack name (nrp-core's StreamDataPackController)."""

    def __init__(self, engine, name, file_dump, net_dump):
        self.engine = engine
        self.name = name
        self.file_dump = file_dump
        self.net_dump = net_dump
        self.topic = f"{engine.mqtt_base}/data/{name}" if net_dump else None
        self.reset_count = 0
        self.file = None
        self.path = None
        self.type_name = None
        self.format = None
        self.header = None
        if file_dump:
            self._open_file()

    def _open_file(self):
        # The field names go only into the first file of a reset series, as nrp-core writes them.
        self.path = os.path.join(self.engine.data_dir, f"{self.name}-{self.reset_count}.data")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.file = open(self.path, "ab")  # noqa: SIM115 - kept open for the simulation's life

    def _write(self, text):
        raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
        self.file.write(raw + b"\n")
        self.file.flush()

    def handle(self, message, time_ns):
        if self.type_name is None:
            self._first(message)
        elif message.full_name != self.type_name:
            raise DataPackRefused(
                f'DataTransfer engine "{self.engine.name}": datapack "{self.name}" was a {self.type_name} and is now '
                f"a {message.full_name}; a datapack keeps its type")
        if self.net_dump:
            self.engine.publish_data(self, message)
        if self.file is not None and self.format is not None:
            self._write(self.format(message, time_ns))

    def _first(self, message):
        self.type_name = message.full_name
        if self.net_dump:
            self.engine.topic_type(self, self.engine.stream_type(message))
        if not self.file_dump:
            return
        if self.type_name == "Dump.String":
            self.format = _format_string
        elif self.type_name == "Dump.ArrayFloat":
            self.format = _format_array_float
        elif any(f.repeated or f.kind == "message" for f in message.fields):
            self.engine.warn(
                f'DataTransfer engine "{self.engine.name}": datapack "{self.name}" is a {self.type_name}, which has '
                "repeated fields and cannot be logged to a file (as in nrp-core); it is only streamed")
            self.file_dump = False
        else:
            self.format = _format_message
            self.header = ",".join(["sim_time"] + [f.name for f in message.fields])
            self._write(self.header)

    def reset(self):
        if self.file is not None:
            self.file.close()
            self.reset_count += 1
            self._open_file()
        if self.net_dump:
            self.engine.publish_reset(self)

    def close(self):
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass
            self.file = None


def _format_string(message, time_ns):
    return "%f,%s" % (seconds(time_ns), message.string_stream)


def _format_array_float(message, time_ns):
    values = message.float_stream
    dims = message.dims
    if len(dims) != 2:
        text = "0" + "".join(",%f" % v for v in values)
    else:
        rows, columns = dims[0], dims[1]
        size = len(values)
        filled = -(-size // columns) if columns else 0
        rows = min(rows, filled + MAX_EMPTY_ROWS)
        parts = []
        i = 0
        for row in range(rows):
            parts.append("\n%d" % row)
            column = 0
            while column < columns and i < size:
                parts.append(",%f" % values[column + row * columns])
                column += 1
                i += 1
        text = "".join(parts)
    return "%f,%s" % (seconds(time_ns), text)


def _format_message(message, time_ns):
    values = message._values
    parts = [("%g" % seconds(time_ns)).encode("ascii")]
    for field in message.fields:
        text = _to_string(values.get(field.name, field.default))
        parts.append(text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape"))
    return b",".join(parts)


class _ProtobufOutbox(dict):
    """The transceiver outbox of a DataTransfer engine: refuses JSON datapacks when they are stored."""

    __slots__ = ("engine_name",)

    def __setitem__(self, key, datapack):
        if not isinstance(datapack._value, Message):
            raise DataPackRefused(
                f'DataTransfer engine "{self.engine_name}" accepts protobuf datapacks only (nrp_core.data.nrp_protobuf); '
                f'datapack "{key}" is a {type(datapack).__name__}')
        dict.__setitem__(self, key, datapack)


class DataTransferEngine:
    """A ``datatransfer_grpc_engine`` running in-process (see the module documentation)."""

    accepts_json = False
    accepts_proto = True

    # A reset cancels the step that pending datapacks were sent for: nrp-core's data-transfer engine never logs or
    # streams them (its reset gives them to the first engine of the configuration only), so neither does this one.
    takes_pending_at_reset = False

    def __init__(self, index, config, timestep_ns, base_dir, warn=None, config_path=None):
        self.index = index
        self.name = config["EngineName"]
        self.type = config["EngineType"]
        self.config = config
        self.timestep_ns = timestep_ns
        self.time_ns = 0
        self.base_dir = base_dir
        self.config_path = config_path
        self.warn = warn or (lambda message: print(message, file=sys.stderr))
        self.fetch_keys = ()
        self.pfs = ()
        self.tfs = ()
        self.outbox = self.new_outbox()
        self.external = {}
        self.streams = {}
        self.publisher = None
        self.mqtt_base = ""
        self.data_dir = None
        self.stream_datapack_message = False
        self._topics = []  # [topic, type] in dumps order
        self._dumps = []

    def new_outbox(self):
        outbox = _ProtobufOutbox()
        outbox.engine_name = self.name
        return outbox

    # ------------------------------------------------------------ set-up
    def load(self):
        """Check the configuration (dumps, directory, topics); nothing is opened yet."""
        config = self.config
        dumps = config.get("dumps", [])
        if not isinstance(dumps, list):
            raise ValueError(f'DataTransfer engine "{self.name}": "dumps" must be an array')
        names = set()
        for position, dump in enumerate(dumps):
            if not isinstance(dump, dict) or not isinstance(dump.get("name"), str) or not dump["name"]:
                raise ValueError(f'DataTransfer engine "{self.name}": dumps.{position} must be an object with a "name"')
            for flag in ("network", "file"):
                if not isinstance(dump.get(flag, False), bool):
                    raise ValueError(f'DataTransfer engine "{self.name}": dumps.{position}.{flag} must be true or false')
            name = dump["name"]
            if name in names:
                raise ValueError(f'DataTransfer engine "{self.name}": datapack "{name}" is listed twice in "dumps"')
            if any(c in name for c in "\0") or name in (".", "..") or "/" in name or "\\" in name:
                raise ValueError(f'DataTransfer engine "{self.name}": datapack name "{name}" cannot be a file name')
            names.add(name)
            self._dumps.append((name, dump.get("file", False), dump.get("network", False)))

        prefix = config.get("MQTTPrefix", "")
        simulation_id = config.get("simulationID", "0")
        if not isinstance(prefix, str) or not isinstance(simulation_id, (str, int)) or isinstance(simulation_id, bool):
            raise ValueError(f'DataTransfer engine "{self.name}": MQTTPrefix and simulationID must be strings')
        self.mqtt_base = (f"{prefix}/" if prefix else "") + f"{MQTT_BASE}/{simulation_id}"
        for name, _, network in self._dumps:
            if network and not valid_topic(f"{self.mqtt_base}/data/{name}"):
                raise ValueError(f'DataTransfer engine "{self.name}": "{self.mqtt_base}/data/{name}" cannot be an MQTT '
                                 "topic (no +, # or NUL characters)")
        if any(network for _, _, network in self._dumps):
            self.broker = parse_broker(config.get("MQTTBroker", "localhost:1883"))

        directory = config.get("dataDirectory", "data")
        if not isinstance(directory, str) or not directory:
            raise ValueError(f'DataTransfer engine "{self.name}": "dataDirectory" must be a non-empty string')
        root = os.path.realpath(self.base_dir)
        target = os.path.realpath(os.path.join(root, directory))
        if target != root and not target.startswith(root + os.sep):
            raise ValueError(f'DataTransfer engine "{self.name}": dataDirectory "{directory}" is outside the experiment '
                             "directory; data files are written inside it (they are archived with its logs)")
        self.data_root = target

    def initialize(self):
        self.time_ns = 0
        self.stream_datapack_message = bool(self.config.get("streamDataPackMessage", True))
        wants_network = any(network for _, _, network in self._dumps)
        if wants_network:
            host, port = self.broker
            self.publisher = make_publisher(host, port, unique_client_id(),
                                            lambda m: self.warn(f'DataTransfer engine "{self.name}": {m}'))
            self.publisher.on_reconnect = self._publish_topics
            if not self.publisher.connect():
                # as nrp-core: without a broker the engine hands the bare data to its streams
                self.stream_datapack_message = False
        # <yyyyMMdd-HHmmss>-<pid>, as nrp-core names it (the process that runs the simulation's Python).
        self.data_dir = os.path.join(self.data_root, time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}")
        for name, file_dump, network in self._dumps:
            if not file_dump and not network:
                self.warn(f'DataTransfer engine "{self.name}": no eligible stream destination was defined for '
                          f'datapack "{name}" (set "file" or "network" in its dumps entry)')
                continue
            stream = _Stream(self, name, file_dump, network)
            self.streams[name] = stream
            if network:
                self._topics.append([stream.topic, ""])
        if self._topics:
            self._publish_topics()

    # ------------------------------------------------------------- engine
    def step(self, run_ns):
        self.time_ns += run_ns
        return self.time_ns

    def get(self, name):
        if name not in self.streams:
            raise DataPackRefused(f'DataPack {name} is not registered in engine {self.name}')
        return None  # nrp-core answers with an empty datapack: the engine has no data to give

    def set(self, name, value):
        stream = self.streams.get(name)
        if stream is None:
            raise DataPackRefused(
                f'DataPack {name} is not registered in engine {self.name} (list it in the "dumps" of the engine, '
                'with "file" or "network" set)')
        if not isinstance(value, Message):
            raise DataPackRefused(
                f'DataTransfer engine "{self.name}" accepts protobuf datapacks only (nrp_core.data.nrp_protobuf); '
                f'datapack "{name}" holds JSON data')
        stream.handle(value, self.time_ns)

    def reset(self):
        self.time_ns = 0
        for stream in self.streams.values():
            stream.reset()

    def shutdown(self):
        self._close(clear_topics=True)

    def unload(self):
        self._close(clear_topics=False)

    def _close(self, clear_topics):
        for stream in self.streams.values():
            stream.close()
        publisher, self.publisher = self.publisher, None
        if publisher is not None:
            if clear_topics and publisher.connected:
                # nrp-core clears the retained topic list with an empty payload, which the NRP Frontend cannot parse
                # (its MQTT client then stops for good): an empty list instead. The embedded broker removes it.
                publisher.publish(f"{self.mqtt_base}/data", b"[]", retain=True)
            publisher.close()

    # ------------------------------------------------------------ streaming
    def stream_type(self, message):
        return DataPackMessage.full_name if self.stream_datapack_message else message.full_name

    def topic_type(self, stream, type_name):
        for entry in self._topics:
            if entry[0] == stream.topic:
                entry[1] = type_name
        self._publish_topics()

    def _publish_topics(self):
        if self.publisher is not None:
            payload = json.dumps([{"topic": t, "type": k} for t, k in self._topics], separators=(",", ":"))
            self.publisher.publish(f"{self.mqtt_base}/data", payload.encode("utf-8"), retain=True)

    def publish_data(self, stream, message):
        if self.publisher is None:
            return
        if self.stream_datapack_message:
            wrapper = DataPackMessage()
            identifier = wrapper.dataPackId
            identifier.dataPackName = stream.name
            identifier.dataPackType = message._type_string
            identifier.engineName = self.name
            wrapper.data.CopyFrom(pack_any(message))
            payload = wrapper.SerializeToString()
        else:
            payload = message.SerializeToString()
        self.publisher.publish(stream.topic, payload)

    def publish_reset(self, stream):
        if self.publisher is not None:
            self.publisher.publish(stream.topic, b"reset")


# used by tests and docs: the identifier message class
DataPackIdentifier = DataPackIdentifierMessage
