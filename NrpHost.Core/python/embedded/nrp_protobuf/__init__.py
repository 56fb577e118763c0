"""``nrp_protobuf``, the top-level package nrp-core installs, for the messages the embedded runtime knows.

Its modules hold Google protobuf classes, as nrp-core's generated ``*_pb2`` modules do: ``dump_pb2`` (``String``,
``ArrayFloat``), ``wrappers_pb2`` (``BoolValue`` ... ``StringValue``), ``nrpgenericproto_pb2`` (``ArrayBool`` ...
``ArrayUInt64``), ``enginetest_pb2`` (``TestPayload``) and ``engine_grpc_pb2`` (``DataPackIdentifier``,
``DataPackMessage``); ``proto_modules.proto_modules`` lists them. The classes are made when a module is first
imported, from the same message definitions as the runtime's own (``nrp_core.data.nrp_protobuf``), in a descriptor
pool of their own: no generated code is shipped, and they serialise to the same bytes. They need Google's ``protobuf``
package; without it, importing one of the modules says what to install.

The runtime takes these messages wherever it takes its own (``set_proto_datapack``, a datapack's ``data``).
"""
