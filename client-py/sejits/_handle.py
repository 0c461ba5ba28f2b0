"""A handle: what the daemon answered for one kernel and signature (the
artifact, its interface, how it was served, the tuning plan). The handle
cache keeps handles across processes as JSON; a loaded kernel carries its
handle's fields in `kernel.info` (what explain() prints)."""

import dataclasses
import json

from sejits import _interface


@dataclasses.dataclass(frozen=True)
class Handle:
    key: str  # the daemon's cache key for the request
    artifact_path: str  # where this process reads the artifact
    artifact_digest: str  # sha256 of the artifact: checked before it is loaded
    interface: dict  # the artifact's entry points by role (_interface: plain data)
    outcome: str  # "hit", "compiled", ... (the daemon's CacheOutcome, lower case)
    compile_seconds: float
    rpc_seconds: float
    notes: tuple  # the daemon's notes for people (why a variant or a fallback)
    build_identity: str  # the daemon build that answered: a handle of another build is not trusted
    source: str  # the generated source, when the request asked for it
    tuning: dict  # the tuning plan's summary (_tuning.plan_summary); {} when tuning is off

    @classmethod
    def from_response(cls, response, rpc_seconds):
        """The handle of a SpecializeResponse, with the daemon's artifact path as it sent it."""
        # Imported here: handles read from the cache must not import protobuf
        # (a handle-cache hit stays free of protobuf and grpc); a response
        # means they are imported already.
        from sejits import _tuning
        from sejits.v1 import specializer_pb2 as pb

        return cls(
            key=response.key,
            artifact_path=response.artifact_path,
            artifact_digest=response.artifact_digest,
            interface=_interface.from_proto(response.interface),
            outcome=pb.CacheOutcome.Name(response.outcome).lower(),
            compile_seconds=response.compile_seconds,
            rpc_seconds=rpc_seconds,
            notes=tuple(response.notes),
            build_identity=response.build_identity,
            source=response.source,
            tuning=_tuning.plan_summary(response.tuning) if response.HasField("tuning") else {},
        )

    @classmethod
    def from_json(cls, text):
        """A handle the handle cache wrote; ValueError/KeyError/TypeError for anything else."""
        fields = json.loads(text)
        if not isinstance(fields, dict):
            raise ValueError("a handle is a JSON object")
        fields["notes"] = tuple(fields["notes"])
        return cls(**fields)

    def to_json(self):
        return json.dumps(dataclasses.asdict(self))

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @property
    def result_dtype(self):
        """The dtype of the first output (what single-result kernels return); None without entries."""
        return _interface.result_dtype(self.interface) if self.interface["entries"] else None

    @property
    def tuning_settled(self):
        """Whether the tuning plan is final (untuned or chosen): a plan still
        in progress is the daemon's to update, and is not remembered."""
        return self.tuning.get("state", "untuned") in ("untuned", "chosen")

    @property
    def tuning_in_progress(self):
        """Whether calls are to time the plan's candidates (or wait for the daemon's offline timings)."""
        return self.tuning.get("state") in ("trying", "offline_pending")

    def info(self, **loaded):
        """A loaded kernel's `info`: the handle's fields but the source, the
        result dtype's name, and what the loader adds (origin, signature, load_seconds)."""
        info = {field.name: getattr(self, field.name) for field in dataclasses.fields(self) if field.name != "source"}
        info["notes"] = list(self.notes)
        info["result_dtype"] = str(self.result_dtype) if self.interface["entries"] else ""
        if _interface.has_entry(self.interface, "call"):
            info["output_dtypes"] = _interface.output_dtypes(self.interface)
        info.update(loaded)
        return info
