"""A small protobuf implementation for the messages the embedded runtime knows.

No protobuf package is needed: each message class is declared here from
nrp-core's ``.proto`` definitions (``nrp-core-msgs/protobuf``), and its
``SerializeToString()`` produces the protobuf wire format of those
definitions (proto3: scalars at their default value are left out, repeated
numbers are packed). ``FromString``/``ParseFromString`` read packed and
unpacked encodings and skip unknown fields.

The Python API follows nrp-core's generated bindings (which follow Google's
generated Python classes): fields are attributes, repeated fields are
list-like containers with ``append``/``extend``/slices, values are checked
and converted on assignment (a float field keeps single precision), and
``Clear``, ``ClearField``, ``HasField``, ``GetFieldNames``,
``IsInitialized``, ``CopyFrom``, ``MergeFromString`` and ``ByteSize`` are
available. Message classes are named after their full name without dots
(``Dump.String`` -> ``DumpString``).

Datapacks: ``<Name>DataPack(name, engine_name)`` and ``<Name>RawData()`` wrap
a message in ``.data``, like nrp-core's protobuf datapacks.
"""

import math
import os
import struct
import sys
import warnings

from .datapacks import DataPackIdentifier

__all__ = [
    "Message",
    "ProtoDataPack",
    "ProtoRawData",
    "RepeatedScalarField",
    "MESSAGES",
    "UnportableExperimentWarning",
    "DATAPACKS",
    "RAW_DATA",
    "message_class",
]

_PACK_F = struct.Struct("<f")
_PACK_D = struct.Struct("<d")

_LIMITS = {
    "int32": (-(1 << 31), (1 << 31) - 1),
    "sint32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
    "sint64": (-(1 << 63), (1 << 63) - 1),
    "uint32": (0, (1 << 32) - 1),
    "uint64": (0, (1 << 64) - 1),
    "enum": (-(1 << 31), (1 << 31) - 1),
}

_DEFAULTS = {
    "int32": 0, "int64": 0, "uint32": 0, "uint64": 0, "sint32": 0, "sint64": 0, "enum": 0,
    "bool": False, "float": 0.0, "double": 0.0, "string": "", "bytes": b"",
}

_VARINT = frozenset(("int32", "int64", "uint32", "uint64", "sint32", "sint64", "enum", "bool"))
# wire type of one element: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32
_WIRE = {"float": 5, "double": 1, "string": 2, "bytes": 2, "message": 2}


def _wire_type(kind):
    return 0 if kind in _VARINT else _WIRE[kind]


# --------------------------------------------------------------- conversion
def _type_error(field, value, expected):
    return TypeError(f"{value!r} has type {type(value).__name__}, but expected one of: {expected} "
                     f'(field "{field.owner}.{field.name}")')


def _to_int(field, value):
    if isinstance(value, int):
        number = int(value)
    elif isinstance(value, float) or not hasattr(value, "__index__"):
        raise _type_error(field, value, "int")
    else:
        number = value.__index__()  # numpy integers
    low, high = _LIMITS[field.kind]
    if number < low or number > high:
        raise ValueError(f'Value out of range: {number} (field "{field.owner}.{field.name}", {field.kind})')
    return number


def _to_bool(field, value):
    if isinstance(value, (bool, int)) or type(value).__name__ in ("bool_", "bool"):
        return bool(value)
    if isinstance(value, float) or not hasattr(value, "__index__"):
        raise _type_error(field, value, "bool, int")
    return bool(value.__index__())


def _to_float32(field, value):
    number = _to_double(field, value)
    if math.isfinite(number) and abs(number) > 3.4028234663852886e38:
        # out of single-precision range: infinity, as a C++ float conversion gives
        return math.copysign(math.inf, number)
    return _PACK_F.unpack(_PACK_F.pack(number))[0]


def _to_double(field, value):
    if isinstance(value, (float, int)):
        return float(value)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        raise _type_error(field, value, "float, int")
    return float(value)


def _to_string(field, value):
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f'{value!r} is not valid UTF-8 (field "{field.owner}.{field.name}")') from None
    raise _type_error(field, value, "str, bytes")


def _to_bytes(field, value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):  # nrp-core's bindings take str for bytes fields too
        return value.encode("utf-8")
    raise _type_error(field, value, "bytes")


_CONVERT = {
    "int32": _to_int, "int64": _to_int, "uint32": _to_int, "uint64": _to_int,
    "sint32": _to_int, "sint64": _to_int, "enum": _to_int,
    "bool": _to_bool, "float": _to_float32, "double": _to_double,
    "string": _to_string, "bytes": _to_bytes,
}


# ----------------------------------------------------------------- encoding
def _varint(out, value):
    value &= 0xFFFFFFFFFFFFFFFF
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _zigzag(value, bits):
    return ((value << 1) ^ (value >> (bits - 1))) & ((1 << bits) - 1)


def _unzigzag(value):
    return (value >> 1) ^ -(value & 1)


def _encode_element(out, kind, value):
    if kind == "float":
        out += _PACK_F.pack(value)
    elif kind == "double":
        out += _PACK_D.pack(value)
    elif kind == "sint32":
        _varint(out, _zigzag(value, 32))
    elif kind == "sint64":
        _varint(out, _zigzag(value, 64))
    else:  # other varints (negative int32/int64/enum take 10 bytes, as in protobuf)
        _varint(out, int(value))


def _read_varint(data, pos):
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("Truncated message: a varint runs past the end")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise ValueError("Malformed varint")


def _signed(value, bits):
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _decode_varint_value(kind, raw):
    if kind == "bool":
        return raw != 0
    if kind in ("int32", "enum"):
        return _signed(raw, 32)
    if kind == "int64":
        return _signed(raw, 64)
    if kind == "uint32":
        return raw & 0xFFFFFFFF
    if kind == "sint32":
        return _unzigzag(raw & 0xFFFFFFFF)
    if kind == "sint64":
        return _unzigzag(raw)
    return raw  # uint64


def _read_element(kind, data, pos, end):
    """Read one non-length-delimited element of ``kind`` at ``pos``."""
    if kind == "float":
        if pos + 4 > end:
            raise ValueError("Truncated message: fixed32 runs past the end")
        return _PACK_F.unpack_from(data, pos)[0], pos + 4
    if kind == "double":
        if pos + 8 > end:
            raise ValueError("Truncated message: fixed64 runs past the end")
        return _PACK_D.unpack_from(data, pos)[0], pos + 8
    raw, pos = _read_varint(data, pos)
    return _decode_varint_value(kind, raw), pos


# ----------------------------------------------------------------- fields
class FieldDescriptor:
    """One field of a message: name, number, kind (proto type or ``message``), repeated."""

    __slots__ = ("name", "number", "kind", "repeated", "message_type", "owner", "default", "convert")

    def __init__(self, owner, name, number, kind, repeated=False, message_type=None):
        self.owner = owner
        self.name = name
        self.number = number
        self.kind = kind
        self.repeated = repeated
        self.message_type = message_type
        self.default = _DEFAULTS.get(kind)
        self.convert = _CONVERT.get(kind)

    @property
    def type_name(self):
        return self.message_type.full_name if self.kind == "message" else self.kind

    @property
    def packed(self):
        return self.repeated and self.kind not in ("string", "bytes", "message")


class RepeatedScalarField:
    """A repeated scalar field: a list whose elements are checked and converted."""

    __slots__ = ("_items", "_field")

    def __init__(self, field, items=()):
        self._field = field
        self._items = [field.convert(field, v) for v in items]

    def _convert(self, value):
        return self._field.convert(self._field, value)

    def append(self, value):
        self._items.append(self._convert(value))

    def extend(self, values):
        if isinstance(values, (str, bytes)):
            raise TypeError(f'"{self._field.name}": extend() takes an iterable of values, not {type(values).__name__}')
        convert = self._convert
        self._items.extend([convert(v) for v in values])

    def insert(self, index, value):
        self._items.insert(index, self._convert(value))

    def pop(self, index=-1):
        return self._items.pop(index)

    def remove(self, value):
        self._items.remove(value)

    def clear(self):
        self._items.clear()

    def sort(self, *args, **kwargs):
        self._items.sort(*args, **kwargs)

    def reverse(self):
        self._items.reverse()

    def MergeFrom(self, other):  # noqa: N802 - protobuf API name
        self.extend(other)

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items))

    def __contains__(self, value):
        return value in self._items

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._items[index]
        return self._items[index]

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            self._items[index] = [self._convert(v) for v in value]
        else:
            self._items[index] = self._convert(value)

    def __delitem__(self, index):
        del self._items[index]

    def __eq__(self, other):
        if isinstance(other, RepeatedScalarField):
            return self._items == other._items
        if isinstance(other, (list, tuple)):
            return self._items == list(other)
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return repr(self._items)


# ----------------------------------------------------------------- messages
class Message:
    """Base class of the message classes (see :func:`_define`)."""

    __slots__ = ("_values",)

    full_name = ""
    fields = ()
    _by_name = {}
    _by_number = {}
    _type_string = ""

    def __init__(self, *other, **kwargs):
        self._values = {}
        if other:
            # The copy constructor of nrp-core's bindings: DumpString(other), then any keyword fields on top.
            if len(other) > 1:
                raise TypeError(f"{type(self).__name__}() takes at most one message to copy, not {len(other)} arguments")
            source = other[0] if type(other[0]) is type(self) else from_foreign(other[0])
            if type(source) is not type(self):
                raise TypeError(f"{type(self).__name__}(other) copies a {self.full_name} message, "
                                f"not a {getattr(other[0], 'full_name', type(other[0]).__name__)}")
            self._values = source._copy()._values
        for name, value in kwargs.items():
            field = self._by_name.get(name)
            if field is None:
                raise ValueError(f'Protocol message {type(self).__name__} has no "{name}" field.')
            if field.repeated:
                getattr(self, name).extend(value)
            elif field.kind == "message":
                getattr(self, name).CopyFrom(value)
            else:
                setattr(self, name, value)

    # protobuf API ------------------------------------------------------
    @classmethod
    def FromString(cls, data):  # noqa: N802 - protobuf API name
        message = cls._blank()
        message.MergeFromString(data)
        return message

    def ParseFromString(self, data):  # noqa: N802 - protobuf API name
        self.Clear()
        return self.MergeFromString(data)

    def MergeFromString(self, data):  # noqa: N802 - protobuf API name
        data = bytes(data)
        self._merge(data, 0, len(data))
        return len(data)

    def SerializeToString(self):  # noqa: N802 - protobuf API name
        out = bytearray()
        self._encode(out)
        return bytes(out)

    def ByteSize(self):  # noqa: N802 - protobuf API name
        return len(self.SerializeToString())

    def Clear(self):  # noqa: N802 - protobuf API name
        self._values = {}

    def ClearField(self, name):  # noqa: N802 - protobuf API name
        if name not in self._by_name:
            raise ValueError(f'Protocol message has no "{name}" field.')
        self._values.pop(name, None)

    def HasField(self, name):  # noqa: N802 - protobuf API name
        field = self._by_name.get(name)
        if field is None:
            raise ValueError(f"Unknown field {name}")
        if field.repeated:
            raise ValueError(f'Protocol message has no singular "{name}" field.')
        value = self._values.get(name)
        if field.kind == "message":
            return value is not None
        return value is not None and value != field.default

    def GetFieldNames(self):  # noqa: N802 - nrp-core binding name
        return [f.name for f in self.fields]

    def GetFieldTypeName(self, name):  # noqa: N802 - nrp-core binding name
        field = self._by_name.get(name)
        if field is None:
            raise ValueError(f"Unknown field {name}")
        return field.type_name

    def WhichOneof(self, name):  # noqa: N802 - protobuf API name
        raise ValueError(f'Protocol message has no "{name}" field')

    def IsInitialized(self):  # noqa: N802 - protobuf API name
        return True  # proto3: no required fields

    def CopyFrom(self, other):  # noqa: N802 - protobuf API name
        if type(other) is not type(self):
            raise TypeError(f"Parameter to CopyFrom() must be instance of same class: expected {type(self).__name__} "
                            f"got {type(other).__name__}.")
        if other is not self:
            self._values = other._copy()._values

    def MergeFrom(self, other):  # noqa: N802 - protobuf API name
        if type(other) is not type(self):
            raise TypeError(f"Parameter to MergeFrom() must be instance of same class: expected {type(self).__name__} "
                            f"got {type(other).__name__}.")
        self.MergeFromString(other.SerializeToString())

    @classmethod
    def GetTypeName(cls):  # noqa: N802 - C++ protobuf name
        return cls.full_name

    # internals ----------------------------------------------------------
    @classmethod
    def _blank(cls):
        """An empty message, made without the constructor: the runtime's own copies and parses (every step) pay
        nothing for what a constructor does for the experiment's code (a type's warning, say)."""
        message = cls.__new__(cls)
        message._values = {}
        return message

    def _copy(self):
        copy = type(self)._blank()
        values = {}
        for name, value in self._values.items():
            if isinstance(value, RepeatedScalarField):
                clone = RepeatedScalarField.__new__(RepeatedScalarField)
                clone._field = value._field
                clone._items = list(value._items)
                values[name] = clone
            elif isinstance(value, Message):
                values[name] = value._copy()
            elif isinstance(value, list):  # repeated message field
                values[name] = [v._copy() for v in value]
            else:
                values[name] = value
        copy._values = values
        return copy

    def _encode(self, out):
        values = self._values
        for field in self.fields:
            value = values.get(field.name)
            if value is None:
                continue
            number = field.number
            kind = field.kind
            if field.repeated:
                items = value._items if isinstance(value, RepeatedScalarField) else value
                if not items:
                    continue
                if field.packed:
                    body = bytearray()
                    for item in items:
                        _encode_element(body, kind, item)
                    _varint(out, number << 3 | 2)
                    _varint(out, len(body))
                    out += body
                else:
                    for item in items:
                        self._encode_single(out, field, item)
            elif kind == "message":
                self._encode_single(out, field, value)
            elif value != field.default or (kind in ("float", "double") and math.copysign(1.0, value) < 0):
                self._encode_single(out, field, value)

    @staticmethod
    def _encode_single(out, field, value):
        kind = field.kind
        _varint(out, field.number << 3 | _wire_type(kind))
        if kind == "string":
            raw = value.encode("utf-8")
            _varint(out, len(raw))
            out += raw
        elif kind == "bytes":
            _varint(out, len(value))
            out += value
        elif kind == "message":
            body = bytearray()
            value._encode(body)
            _varint(out, len(body))
            out += body
        else:
            _encode_element(out, kind, value)

    def _merge(self, data, pos, end):
        values = self._values
        while pos < end:
            tag, pos = _read_varint(data, pos)
            number, wire = tag >> 3, tag & 7
            if number == 0:
                raise ValueError("Malformed message: field number 0")
            field = self._by_number.get(number)
            if wire == 2:
                length, pos = _read_varint(data, pos)
                if pos + length > end:
                    raise ValueError("Truncated message: a length-delimited field runs past the end")
                start, pos = pos, pos + length
                if field is None:
                    continue
                kind = field.kind
                if kind == "string":
                    value = _to_string(field, data[start:pos])
                elif kind == "bytes":
                    value = data[start:pos]
                elif kind == "message":
                    value = field.message_type()
                    value._merge(data, start, pos)
                elif field.repeated:  # packed
                    container = getattr(self, field.name)
                    at = start
                    while at < pos:
                        item, at = _read_element(kind, data, at, pos)
                        container._items.append(item)
                    continue
                else:
                    raise ValueError(f'Wrong wire type for field "{field.name}"')
            elif wire in (0, 1, 5):
                if field is None or _wire_type(field.kind) != wire:
                    if wire == 0:
                        _, pos = _read_varint(data, pos)
                    else:
                        pos += 8 if wire == 1 else 4
                    if pos > end:
                        raise ValueError("Truncated message")
                    continue
                value, pos = _read_element(field.kind, data, pos, end)
            else:
                raise ValueError(f"Unsupported wire type {wire}")
            if field.repeated:
                if field.kind == "message":
                    values.setdefault(field.name, []).append(value)
                else:
                    getattr(self, field.name)._items.append(value)
            elif field.kind == "message" and field.name in values:
                values[field.name].MergeFrom(value)
            else:
                values[field.name] = value

    # Python protocol ------------------------------------------------------
    def __eq__(self, other):
        if type(other) is not type(self):
            if _foreign_name(other) == self.full_name:  # the same message as a Google protobuf class (nrp_protobuf)
                return self.SerializeToString() == other.SerializeToString()
            return NotImplemented
        return self.SerializeToString() == other.SerializeToString()

    __hash__ = None

    def __str__(self):
        return "".join(self._text_lines(""))

    def __repr__(self):
        body = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.fields)
        return f"{type(self).__name__}({body})"

    def __reduce__(self):
        return (type(self).FromString, (self.SerializeToString(),))

    def _text_lines(self, indent):
        for field in self.fields:
            value = self._values.get(field.name)
            if value is None:
                continue
            if field.kind == "message":
                items = value if field.repeated else [value]
                for item in items:
                    yield f"{indent}{field.name} {{\n"
                    yield from item._text_lines(indent + "  ")
                    yield f"{indent}}}\n"
                continue
            items = list(value) if field.repeated else ([value] if value != field.default else [])
            for item in items:
                yield f"{indent}{field.name}: {_text_value(field.kind, item)}\n"


def _text_value(kind, value):
    if kind == "string":
        return '"' + value.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
    if kind == "bytes":
        return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03o}" for b in value) + '"'
    if kind == "bool":
        return "true" if value else "false"
    if kind in ("float", "double"):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    return str(value)


def _make_property(field):
    name = field.name
    if field.repeated and field.kind == "message":
        def getter(self):
            return self._values.setdefault(name, [])
    elif field.repeated:
        def getter(self):
            container = self._values.get(name)
            if container is None:
                container = self._values[name] = RepeatedScalarField(field)
            return container
    elif field.kind == "message":
        def getter(self):
            value = self._values.get(name)
            if value is None:
                value = self._values[name] = field.message_type()
            return value
    else:
        default = field.default

        def getter(self):
            return self._values.get(name, default)

    if field.repeated or field.kind == "message":
        def setter(self, value):
            raise AttributeError(f'Assignment not allowed to field "{name}" in protocol message object.')
    else:
        convert = field.convert

        def setter(self, value):
            self._values[name] = convert(field, value)

    return property(getter, setter, doc=f"{field.type_name} {name} = {field.number}")


def _mangled(full_name):
    """``typeid(Pkg::Msg).name()`` as GCC spells it: nrp-core's datapack type string."""
    parts = full_name.split(".")
    return "N" + "".join(f"{len(p)}{p}" for p in parts) + "E"


MESSAGES = {}


def _define(full_name, spec):
    """Create the message class for ``full_name`` from ``spec``:
    ``[(name, number, kind[, "repeated" | message class]), ...]``."""
    class_name = full_name.replace(".", "")
    cls = type(class_name, (Message,), {"__slots__": (), "full_name": full_name, "_type_string": _mangled(full_name),
                                        "__module__": "nrp_core.data.nrp_protobuf"})
    fields = []
    for entry in spec:
        name, number, kind = entry[:3]
        extra = entry[3] if len(entry) > 3 else None
        if kind == "message":
            fields.append(FieldDescriptor(full_name, name, number, kind, False, extra))
        else:
            fields.append(FieldDescriptor(full_name, name, number, kind, extra == "repeated"))
    fields.sort(key=lambda f: f.number)
    cls.fields = tuple(fields)
    cls._by_name = {f.name: f for f in fields}
    cls._by_number = {f.number: f for f in fields}
    for field in fields:
        setattr(cls, field.name, _make_property(field))
    MESSAGES[full_name] = cls
    return cls


# Dump (nrp-core-msgs protobuf/engine_proto_defs/dump_msgs.proto)
DumpString = _define("Dump.String", [("string_stream", 5, "string")])
DumpArrayFloat = _define("Dump.ArrayFloat", [("float_stream", 5, "float", "repeated"), ("dims", 6, "uint32", "repeated")])

# Wrappers (wrappers.proto): one "value" field each
for _kind, _suffix in (("bool", "Bool"), ("bytes", "Bytes"), ("float", "Float"), ("double", "Double"),
                       ("int32", "Int32"), ("int64", "Int64"), ("uint32", "UInt32"), ("uint64", "UInt64"),
                       ("string", "String")):
    _define(f"Wrappers.{_suffix}Value", [("value", 1, _kind)])

# NrpGenericProto (nrp_generic.proto): flat arrays with their shape
for _kind, _suffix in (("string", "String"), ("bytes", "Bytes"), ("float", "Float"), ("double", "Double"),
                       ("int32", "Int32"), ("int64", "Int64"), ("sint32", "SInt32"), ("sint64", "SInt64"),
                       ("uint32", "UInt32"), ("uint64", "UInt64"), ("bool", "Bool")):
    _define(f"NrpGenericProto.Array{_suffix}", [("array", 1, _kind, "repeated"), ("shape", 2, "uint32", "repeated")])

# Types this runtime has that nrp-core 1.4.1 does not (nrp-core-msgs' wrappers.proto stops at Int64Value and
# StringValue): an experiment that uses them runs here only, and is told so where it makes one.
class UnportableExperimentWarning(UserWarning):
    """The experiment uses something nrp-core 1.4.1 does not have: it will not run on a real nrp-core."""


_RUNTIME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _unportable(cls):
    plain_init = cls.__init__

    def __init__(self, *other, **kwargs):  # noqa: N807 - the class's own constructor, wrapped
        # Blame the first frame outside the runtime: the experiment's line that made the message or datapack.
        level, frame = 2, sys._getframe(1)  # noqa: SLF001 - the caller's frame, for the warning's location
        while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_RUNTIME_DIR + os.sep):
            level, frame = level + 1, frame.f_back
        warnings.warn(
            f"{cls.full_name} is not a message of nrp-core 1.4.1 (its wrappers.proto has no unsigned wrappers): this "
            "experiment runs on NrpHost's embedded runtime only. Use Wrappers.Int64Value to keep it portable.",
            UnportableExperimentWarning, stacklevel=level)
        plain_init(self, *other, **kwargs)

    cls.__init__ = __init__
    return cls


for _name in ("Wrappers.UInt32Value", "Wrappers.UInt64Value"):
    _unportable(MESSAGES[_name])

# EngineTest (test_msgs.proto), used by nrp-core's status_function_test
_define("EngineTest.TestPayload", [("integer", 1, "uint32"), ("str", 2, "string")])

# Messages the client and the DataTransfer engine put on the wire
Any = _define("google.protobuf.Any", [("type_url", 1, "string"), ("value", 2, "bytes")])
JsonMessage = _define("NrpCore.JsonMessage", [("data", 1, "string")])
DataPackIdentifierMessage = _define("EngineGrpc.DataPackIdentifier", [
    ("dataPackName", 1, "string"), ("dataPackType", 2, "string"), ("engineName", 3, "string")])
DataPackMessage = _define("EngineGrpc.DataPackMessage", [
    ("dataPackId", 1, "message", DataPackIdentifierMessage), ("data", 2, "message", Any)])

TYPE_URL_PREFIX = "type.googleapis.com/"


def pack_any(message):
    """An ``Any`` holding ``message``."""
    return Any(type_url=TYPE_URL_PREFIX + message.full_name, value=message.SerializeToString())


def unpack_any(any_message):
    """The message inside ``any_message`` (a ``ValueError`` for a type this runtime does not know)."""
    type_name = any_message.type_url.rpartition("/")[2]
    cls = MESSAGES.get(type_name)
    if cls is None:
        raise ValueError(f'Unknown protobuf message type "{type_name}"')
    return cls.FromString(any_message.value)


def message_class(full_name):
    return MESSAGES.get(full_name)


def _foreign_name(value):
    """The full name of ``value``'s type when it is a Google protobuf message (``nrp_protobuf``'s, or any generated
    class), else None."""
    if isinstance(value, Message):
        return None
    full_name = getattr(getattr(type(value), "DESCRIPTOR", None), "full_name", None)
    return full_name if isinstance(full_name, str) and callable(getattr(value, "SerializeToString", None)) else None


def from_foreign(value):
    """The runtime's message for ``value`` when it is a Google protobuf message of a type the runtime knows (the same
    bytes); None when ``value`` is no Google protobuf message; a ``TypeError`` for a type the runtime does not know."""
    full_name = _foreign_name(value)
    if full_name is None:
        return None
    cls = MESSAGES.get(full_name)
    if cls is None:
        raise TypeError(
            f'The protobuf message type "{full_name}" is not one the embedded nrp-core runtime knows (Dump, Wrappers, '
            "NrpGenericProto, EngineTest); other types need a real nrp-core installation (NrpHost:NrpCore:Mode=External)")
    return cls.FromString(value.SerializeToString())


# ----------------------------------------------------------------- datapacks
class _MessageHolder:
    """The ``data`` property of protobuf datapacks and raw data: the message, replaceable by one of its type."""

    __slots__ = ()

    message_type = None

    @property
    def data(self):
        """The message (a ``{full name without dots}`` instance)."""
        return self._value

    @data.setter
    def data(self, value):
        if type(value) is not self.message_type and _foreign_name(value) == self.message_type.full_name:
            value = from_foreign(value)
        if type(value) is not self.message_type:
            raise TypeError(f"{type(self).__name__}.data must be a {self.message_type.__name__}, "
                            f"not {type(value).__name__}")
        self._value = value._copy()


class ProtoDataPack(_MessageHolder):
    """A protobuf datapack: ``<Name>DataPack(name, engine_name)``; ``.data`` is the message."""

    __slots__ = ("name", "engine_name", "_value", "_updated")

    def __init__(self, name, engine_name):
        if type(name) is not str or type(engine_name) is not str:
            raise TypeError(f"{type(self).__name__}(name, engine_name) expects two strings")
        self.name = name
        self.engine_name = engine_name
        self._value = self.message_type()
        self._updated = True

    @property
    def type(self):
        return self.message_type._type_string

    @property
    def id(self):
        return DataPackIdentifier(self.name, self.engine_name, self.message_type._type_string)

    def isEmpty(self):  # noqa: N802 - nrp-core API name
        return False

    def isUpdated(self):  # noqa: N802 - nrp-core API name
        return self._updated

    @classmethod
    def getType(cls):  # noqa: N802 - nrp-core API name
        return cls.message_type._type_string

    def _copy(self):
        copy = type(self).__new__(type(self))
        copy.name = self.name
        copy.engine_name = self.engine_name
        copy._value = self._value._copy()
        copy._updated = self._updated
        return copy

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, {self.engine_name!r}, data={self._value!r})"


class ProtoRawData(_MessageHolder):
    """Protobuf data without name or engine (``<Name>RawData()``), for Status Function observations."""

    __slots__ = ("_value",)

    def __init__(self):
        self._value = self.message_type()

    def __repr__(self):
        return f"{type(self).__name__}(data={self._value!r})"


DATAPACKS = {}
RAW_DATA = {}

_PUBLIC_PACKAGES = ("Dump.", "Wrappers.", "NrpGenericProto.", "EngineTest.")

for _full_name, _cls in list(MESSAGES.items()):
    if not _full_name.startswith(_PUBLIC_PACKAGES):
        continue
    _base = _cls.__name__
    DATAPACKS[_base + "DataPack"] = type(_base + "DataPack", (ProtoDataPack,), {
        "__slots__": (), "message_type": _cls, "__module__": "nrp_core.data.nrp_protobuf"})
    RAW_DATA[_base + "RawData"] = type(_base + "RawData", (ProtoRawData,), {
        "__slots__": (), "message_type": _cls, "__module__": "nrp_core.data.nrp_protobuf"})
