"""Protobuf datapacks, as in nrp-core 1.4.1's ``nrp_core.data.nrp_protobuf``.

For each message of the packages ``Dump`` (``String``, ``ArrayFloat``),
``Wrappers`` (``BoolValue``, ``BytesValue``, ``FloatValue``, ``DoubleValue``,
``Int32Value``, ``Int64Value``, ``UInt32Value``, ``UInt64Value``,
``StringValue``), ``NrpGenericProto`` (``ArrayBool``, ``ArrayBytes``,
``ArrayDouble``, ``ArrayFloat``, ``ArrayInt32``, ``ArrayInt64``,
``ArraySInt32``, ``ArraySInt64``, ``ArrayString``, ``ArrayUInt32``,
``ArrayUInt64``) and ``EngineTest`` (``TestPayload``) there are three classes:
the message (``DumpString``), the datapack (``DumpStringDataPack(name,
engine_name)``) and the raw data for Status Function observations
(``DumpStringRawData()``).

Other protobuf types (Gazebo, NEST, EDLUT... messages) need nrp-core's
compiled protobuf plugins: importing one raises an ``ImportError`` that names
it and points at a real nrp-core installation.
"""

from nrp_core._embedded.protobuf import DATAPACKS as _DATAPACKS
from nrp_core._embedded.protobuf import MESSAGES as _MESSAGES
from nrp_core._embedded.protobuf import RAW_DATA as _RAW_DATA

_PUBLIC = ("Dump.", "Wrappers.", "NrpGenericProto.", "EngineTest.")

globals().update({cls.__name__: cls for name, cls in _MESSAGES.items() if name.startswith(_PUBLIC)})
globals().update(_DATAPACKS)
globals().update(_RAW_DATA)

__all__ = sorted([cls.__name__ for name, cls in _MESSAGES.items() if name.startswith(_PUBLIC)]
                 + list(_DATAPACKS) + list(_RAW_DATA))


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise ImportError(
        f'"{name}" is not available in nrp_core.data.nrp_protobuf of the embedded nrp-core runtime, which has the '
        "protobuf datapacks of the Dump, Wrappers, NrpGenericProto (Array*) and EngineTest packages only; "
        "this experiment needs a real nrp-core installation (set NrpHost:NrpCore:Mode=External).",
        name=name)
