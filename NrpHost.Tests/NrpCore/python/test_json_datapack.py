"""JsonDataPack / JsonRawData and the ``.data`` proxy (nrp-core's NlohmannJson)."""

import sys

import nrpcore_testkit  # noqa: F401 - puts the runtime on sys.path
from nrp_core import DataPackIdentifier
from nrp_core.data.nrp_json import JsonDataPack, JsonRawData


def _raises(exc_type, call, *args):
    try:
        call(*args)
    except exc_type as e:
        return e
    raise AssertionError(f"{call} did not raise {exc_type.__name__}")


def test_json_datapack_identity_and_flags():
    dp = JsonDataPack("d", "engine")
    assert (dp.name, dp.engine_name) == ("d", "engine")
    assert dp.id == DataPackIdentifier("d", "engine")
    assert dp.type == JsonDataPack.getType()
    assert dp.isUpdated() and not dp.isEmpty()
    assert dp.data.json_type() == "null" and len(dp.data) == 0
    assert str(dp.data) == "null"
    _raises(TypeError, JsonDataPack, "d", 3)


def test_json_data_item_get_set_keys_len_and_str():
    dp = JsonDataPack("d", "engine")
    dp.data["a"] = 1
    dp.data["b"] = {"c": [1, 2]}
    dp.data["t"] = (1, 2)
    assert dp.data.json_type() == "object"
    assert dp.data.keys() == ["a", "b", "t"]
    assert len(dp.data) == 3
    assert dp.data["a"] == 1 and dp.data["t"] == [1, 2]
    assert str(dp.data) == '{"a":1,"b":{"c":[1,2]},"t":[1,2]}'
    assert "a" in dp.data and dp.data.get("zz", 5) == 5
    # reading returns copies: changing them does not change the datapack
    inner = dp.data["b"]
    inner["c"].append(3)
    assert dp.data["b"] == {"c": [1, 2]}
    _raises(KeyError, dp.data.__getitem__, "missing")
    _raises(TypeError, dp.data.__setitem__, 1, 2)
    assert dp.data == {"a": 1, "b": {"c": [1, 2]}, "t": [1, 2]}


def test_json_data_arrays_and_append():
    raw = JsonRawData()
    raw.data.append(1)
    raw.data.append({"x": 2})
    assert raw.data.json_type() == "array" and len(raw.data) == 2
    assert raw.data[1] == {"x": 2}
    raw.data[0] = 5
    assert list(raw.data) == [5, {"x": 2}]
    _raises(TypeError, raw.data.__getitem__, "key")
    obj = JsonRawData({"k": 1})
    _raises(TypeError, obj.data.append, 2)


def test_json_data_assignment_and_conversion():
    class Array:
        def tolist(self):
            return [1.5, 2.5]

    dp = JsonDataPack("d", "engine")
    dp.data = {"values": Array(), "flag": True}
    assert dp.data["values"] == [1.5, 2.5] and dp.data["flag"] is True
    _raises(TypeError, dp.data.__setitem__, "bad", object())
    assert dp.data.to_python() == {"values": [1.5, 2.5], "flag": True}
