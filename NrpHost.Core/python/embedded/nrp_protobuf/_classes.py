"""Google protobuf classes made from the embedded runtime's message definitions (see the package documentation)."""

try:
    from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
except ImportError as _missing:
    raise ImportError(
        "nrp_protobuf needs Google's protobuf package for Python, which is not importable here "
        f"({_missing}). Install it (Debian: apt-get install python3-protobuf; else: pip install protobuf), or use "
        "the embedded runtime's own classes: from nrp_core.data.nrp_protobuf import DumpString, EngineTestTestPayload, ...",
        name=getattr(_missing, "name", None)) from _missing

from nrp_core._embedded.protobuf import MESSAGES

__all__ = ["POOL", "module_classes"]

_F = descriptor_pb2.FieldDescriptorProto
_TYPES = {
    "double": _F.TYPE_DOUBLE, "float": _F.TYPE_FLOAT, "int64": _F.TYPE_INT64, "uint64": _F.TYPE_UINT64,
    "int32": _F.TYPE_INT32, "bool": _F.TYPE_BOOL, "string": _F.TYPE_STRING, "bytes": _F.TYPE_BYTES,
    "uint32": _F.TYPE_UINT32, "sint32": _F.TYPE_SINT32, "sint64": _F.TYPE_SINT64, "message": _F.TYPE_MESSAGE,
}

# proto package -> the .proto file nrp-core declares it in (nrp-core-msgs), in dependency order.
_FILES = {
    "Dump": "dump_msgs.proto",
    "Wrappers": "wrappers.proto",
    "NrpGenericProto": "nrp_generic.proto",
    "EngineTest": "test_msgs.proto",
    "EngineGrpc": "engine_grpc.proto",
}

POOL = descriptor_pool.DescriptorPool()
POOL.AddSerializedFile(any_pb2.DESCRIPTOR.serialized_pb)


def _file(package):
    proto = descriptor_pb2.FileDescriptorProto(name=_FILES[package], package=package, syntax="proto3")
    for full_name, cls in MESSAGES.items():
        if full_name.rpartition(".")[0] != package:
            continue
        message = proto.message_type.add(name=full_name.rpartition(".")[2])
        for field in cls.fields:
            entry = message.field.add(name=field.name, number=field.number, type=_TYPES[field.kind],
                                      label=_F.LABEL_REPEATED if field.repeated else _F.LABEL_OPTIONAL)
            if field.kind == "message":
                entry.type_name = "." + field.message_type.full_name
                if field.message_type.full_name == "google.protobuf.Any":
                    if "google/protobuf/any.proto" not in proto.dependency:
                        proto.dependency.append("google/protobuf/any.proto")
    return proto


for _package in _FILES:
    POOL.Add(_file(_package))


def _class(descriptor):
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(POOL).GetPrototype(descriptor)


def module_classes(package):
    """``{class name: class}`` of the messages of ``package``, and its file descriptor as ``DESCRIPTOR``."""
    file = POOL.FindFileByName(_FILES[package])
    classes = {name: _class(descriptor) for name, descriptor in file.message_types_by_name.items()}
    classes["DESCRIPTOR"] = file
    return classes
