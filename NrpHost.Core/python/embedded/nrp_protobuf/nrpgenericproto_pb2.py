"""The ``NrpGenericProto`` messages as Google protobuf classes, as nrp-core's generated ``nrpgenericproto_pb2`` (see the package documentation)."""

from nrp_protobuf._classes import module_classes as _module_classes

globals().update(_module_classes("NrpGenericProto"))
