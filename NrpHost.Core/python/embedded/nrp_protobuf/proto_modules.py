"""The ``*_pb2`` modules of this package, as nrp-core's ``nrp_protobuf.proto_modules`` lists its generated ones."""

proto_modules = ["dump_pb2", "wrappers_pb2", "nrpgenericproto_pb2", "enginetest_pb2", "engine_grpc_pb2"]
