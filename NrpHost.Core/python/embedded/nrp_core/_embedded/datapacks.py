"""DataPack classes and the JSON value helpers of the embedded runtime.

nrp-core moves JSON datapacks between engines and functions as serialised
JSON, so every party works on its own copy. The embedded runtime keeps plain
Python values (dict, list, str, int, float, bool, None) instead and copies them
with :func:`to_json` at the points where nrp-core would serialise: when a
datapack is fetched from an engine, when one is sent to an engine, when one is
stored in the trajectory, and when a value is assigned through the
``.data`` proxy.

Public names are re-exported by ``nrp_core`` and ``nrp_core.data.nrp_json``.
"""

import json

__all__ = [
    "DataPackIdentifier",
    "JsonDataPack",
    "JsonRawData",
    "NlohmannJson",
    "to_json",
]

# Type string of a JSON datapack. nrp-core uses the C++ typeid name of
# nlohmann::json; only equality matters, so the same opaque string is used here.
JSON_DATAPACK_TYPE = "N8nlohmann10basic_jsonISt3mapSt6vectorNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEblmdSaNS_14adl_serializerES3_IhSaIhEEEE"

_SCALARS = frozenset((str, int, float, bool, type(None)))


def to_json(value):
    """Return a JSON-compatible deep copy of ``value``.

    dicts and lists are copied, tuples become lists, scalars are returned as
    they are. Objects with ``tolist()`` (numpy arrays) or ``item()`` (numpy
    scalars) are converted; proxies and datapacks contribute their data; a
    protobuf message (or protobuf datapack) gives a copy of the message.
    Anything else raises ``TypeError`` as ``json.dumps`` would.
    """
    t = type(value)
    # Flat containers (the usual datapack) are copied in C after a scan of
    # their values; anything nested is converted value by value.
    if t is dict:
        for v in value.values():
            if type(v) not in _SCALARS:
                return {k: (v if type(v) in _SCALARS else to_json(v)) for k, v in value.items()}
        return value.copy()
    if t is list or t is tuple:
        for v in value:
            if type(v) not in _SCALARS:
                return [v if type(v) in _SCALARS else to_json(v) for v in value]
        return list(value)
    if t in _SCALARS:
        return value
    return _convert_other(value)


_proto_types = None


def _protobuf_types():
    global _proto_types
    if _proto_types is None:
        from .protobuf import Message, ProtoDataPack, ProtoRawData  # noqa: PLC0415 - imports this module

        _proto_types = (Message, (ProtoDataPack, ProtoRawData))
    return _proto_types


def _convert_other(value):
    if isinstance(value, NlohmannJson):
        return to_json(value._holder._value)
    if isinstance(value, (JsonDataPack, JsonRawData)):
        return to_json(value._value)
    message, holders = _protobuf_types()
    if isinstance(value, message):  # a protobuf message travels as a copy, as nrp-core serialises it
        return value._copy()
    if isinstance(value, holders):
        return value._value._copy()
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return to_json(tolist())
    item = getattr(value, "item", None)
    if callable(item):
        return to_json(item())
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _json_type_name(value):
    t = type(value)
    if value is None:
        return "null"
    if t is dict:
        return "object"
    if t is list:
        return "array"
    if t is str:
        return "string"
    if t is bool:
        return "boolean"
    return "number"


class DataPackIdentifier:
    """Identifies a datapack by name and engine. ``type`` is informative only."""

    __slots__ = ("name", "engine_name", "type")

    def __init__(self, name, engine_name, type=""):  # noqa: A002 - nrp-core parameter name
        self.name = name
        self.engine_name = engine_name
        self.type = type

    def __eq__(self, other):
        if not isinstance(other, DataPackIdentifier):
            return NotImplemented
        return self.name == other.name and self.engine_name == other.engine_name

    def __hash__(self):
        return hash((self.name, self.engine_name))

    def __repr__(self):
        return f"DataPackIdentifier({self.name!r}, {self.engine_name!r})"


class NlohmannJson:
    """Proxy for the JSON value of a datapack, like nrp-core's ``NlohmannJson``.

    Reading returns native Python values (containers are copies); writing
    converts Python values to JSON. Item assignment with a string key on JSON
    null turns the value into an object, ``append`` on null into an array.
    """

    __slots__ = ("_holder",)

    def __init__(self, holder):
        self._holder = holder

    def __getitem__(self, key):
        v = self._holder._value
        t = type(v)
        if t is dict:
            x = v[key]
        elif t is list:
            if type(key) is not int:
                raise TypeError(f"cannot use a {type(key).__name__} index with a JSON array")
            x = v[key]
        else:
            raise TypeError(f"cannot use operator[] with {_json_type_name(v)}")
        return x if type(x) in _SCALARS else to_json(x)

    def __setitem__(self, key, value):
        holder = self._holder
        v = holder._value
        if v is None and type(key) is str:
            v = holder._value = {}
        t = type(v)
        if t is dict:
            if type(key) is not str:
                raise TypeError("JSON object keys must be strings")
        elif t is list:
            if type(key) is not int:
                raise TypeError(f"cannot use a {type(key).__name__} index with a JSON array")
        else:
            raise TypeError(f"cannot use operator[] with {_json_type_name(v)}")
        v[key] = value if type(value) in _SCALARS else to_json(value)

    def __delitem__(self, key):
        del self._holder._value[key]

    def __contains__(self, key):
        v = self._holder._value
        if type(v) is dict:
            return key in v
        if type(v) is list:
            return key in v
        return False

    def __iter__(self):
        v = self._holder._value
        if type(v) is dict:
            return iter(list(v))
        if type(v) is list:
            return iter(to_json(v))
        return iter(())

    def __len__(self):
        v = self._holder._value
        if type(v) in (dict, list):
            return len(v)
        return 0 if v is None else 1

    def __eq__(self, other):
        if isinstance(other, NlohmannJson):
            other = other._holder._value
        return self._holder._value == other

    __hash__ = None

    def __str__(self):
        return json.dumps(self._holder._value, separators=(",", ":"))

    __repr__ = __str__

    def keys(self):
        """Keys of a JSON object (empty for null)."""
        v = self._holder._value
        if type(v) is dict:
            return list(v.keys())
        if v is None:
            return []
        raise TypeError(f"keys() is not available on {_json_type_name(v)}")

    def get(self, key, default=None):
        """Like ``dict.get`` on a JSON object."""
        v = self._holder._value
        if type(v) is dict and key in v:
            return self[key]
        return default

    def append(self, value):
        """Append to a JSON array; JSON null becomes an array first."""
        holder = self._holder
        if holder._value is None:
            holder._value = []
        if type(holder._value) is not list:
            raise TypeError(f"cannot use append() with {_json_type_name(holder._value)}")
        holder._value.append(value if type(value) in _SCALARS else to_json(value))

    def json_type(self):
        """nlohmann type name of the value: null, object, array, string, boolean or number."""
        return _json_type_name(self._holder._value)

    def to_python(self):
        """A native Python copy of the whole value."""
        return to_json(self._holder._value)


class _JsonHolder:
    """The ``data`` property shared by JSON datapacks and raw JSON data (``_value`` and ``_proxy`` slots)."""

    __slots__ = ()

    @property
    def data(self):
        """The JSON value (an :class:`NlohmannJson` proxy)."""
        proxy = self._proxy
        if proxy is None:
            proxy = self._proxy = NlohmannJson(self)
        return proxy

    @data.setter
    def data(self, value):
        self._value = to_json(value)


class JsonDataPack(_JsonHolder):
    """A JSON datapack addressed to (or coming from) an engine."""

    __slots__ = ("name", "engine_name", "_value", "_updated", "_proxy")

    def __init__(self, name, engine_name):
        if type(name) is not str or type(engine_name) is not str:
            raise TypeError("JsonDataPack(name, engine_name) expects two strings")
        self.name = name
        self.engine_name = engine_name
        self._value = None
        self._updated = True
        self._proxy = None

    @property
    def type(self):
        return JSON_DATAPACK_TYPE

    @property
    def id(self):
        return DataPackIdentifier(self.name, self.engine_name, JSON_DATAPACK_TYPE)

    def isEmpty(self):  # noqa: N802 - nrp-core API name
        """True only for a datapack without data; JSON null data is not empty."""
        return False

    def isUpdated(self):  # noqa: N802 - nrp-core API name
        """True if the datapack was fetched or produced in the current cycle."""
        return self._updated

    @staticmethod
    def getType():  # noqa: N802 - nrp-core API name
        return JSON_DATAPACK_TYPE

    def __repr__(self):
        return f"JsonDataPack({self.name!r}, {self.engine_name!r}, data={self.data})"


def make_datapack(name, engine_name, value):
    """Build a datapack around ``value`` (already copied) without validation."""
    dp = JsonDataPack.__new__(JsonDataPack)
    dp.name = name
    dp.engine_name = engine_name
    dp._value = value
    dp._updated = True
    dp._proxy = None
    return dp


class JsonRawData(_JsonHolder):
    """JSON data without name or engine, used for Status Function observations."""

    __slots__ = ("_value", "_proxy")

    def __init__(self, data=None):
        self._value = None if data is None else to_json(data)
        self._proxy = None

    def __repr__(self):
        return f"JsonRawData({self.data})"
