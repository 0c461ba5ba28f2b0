"""The typed handle: what the handle cache writes is what it reads back, a
loaded kernel's info is the handle's fields, and the result dtype comes
from the interface. No daemon needed."""

import json

import numpy as np
import pytest

from sejits._handle import Handle

INTERFACE = {"entries": [{"role": "call", "symbol": "sejits_kernel", "params": [
    {"name": "a", "role": "input", "dtype": "float32"},
    {"name": "out", "role": "output", "dtype": "float32",
     "shape": {"broadcast": [0], "dims": [], "shape_entry": ""}},
]}]}


def a_handle(**changes):
    fields = dict(key="k1", artifact_path="/tmp/a.so", artifact_digest="ab" * 32, interface=INTERFACE,
                  outcome="compiled", compile_seconds=0.5, rpc_seconds=0.6, notes=("one note",),
                  build_identity="build-1", source="// c++", tuning={"state": "chosen", "variant": "unroll=4"})
    fields.update(changes)
    return Handle(**fields)


def test_a_handle_round_trips_through_json():
    handle = a_handle()
    assert Handle.from_json(handle.to_json()) == handle
    # Flat JSON: the fields by name, as tools and tests read the cache's files.
    written = json.loads(handle.to_json())
    assert written["build_identity"] == "build-1" and written["artifact_digest"] == "ab" * 32


@pytest.mark.parametrize("text", ["[]", "{}", '{"key": "k"}', "not json"])
def test_anything_else_is_refused(text):
    with pytest.raises((ValueError, KeyError, TypeError)):
        Handle.from_json(text)


def test_the_result_dtype_is_the_first_outputs():
    assert a_handle().result_dtype == np.dtype(np.float32)
    assert a_handle(interface={"entries": []}).result_dtype is None


def test_replace_gives_a_new_handle():
    handle = a_handle()
    tuned = handle.replace(tuning={"state": "untuned", "too_short": True})
    assert tuned.tuning["state"] == "untuned" and handle.tuning["state"] == "chosen"
    with pytest.raises(AttributeError):
        handle.key = "other"  # frozen


def test_tuning_states():
    assert a_handle(tuning={}).tuning_settled and not a_handle(tuning={}).tuning_in_progress
    assert a_handle(tuning={"state": "trying"}).tuning_in_progress
    assert not a_handle(tuning={"state": "offline_pending"}).tuning_settled


def test_a_loaded_kernels_info_is_the_handles_fields_without_the_source():
    info = a_handle().info(origin="handle cache (no RPC)", signature="(float32[:])", load_seconds=0.01)
    assert "source" not in info
    assert info["result_dtype"] == "float32" and info["notes"] == ["one note"]
    assert (info["key"], info["outcome"], info["origin"]) == ("k1", "compiled", "handle cache (no RPC)")
    assert info["interface"] is INTERFACE and info["tuning"]["variant"] == "unroll=4"
