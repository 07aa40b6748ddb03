r"""Show where the trainer's SNDCGAN step spends its time, op by op.

    python -m benchmarks.profile_step --steps=5 --inter_op_threads=1

Runs the trainer's compiled step (SNDCGAN at 32x32x3, NS loss, spectral
norm, the setup of `benchmarks.train_step`) under TensorFlow's profiler and
prints the time per step of each op type and of each convolution op. With
one inter-op thread the ops run one at a time, so their times add up to the
step's wall time. With more threads the ops overlap, and their times add up
to more than the wall time.

NOTE: the profile is read from TensorFlow's XSpace protocol buffer
(`tensorflow.tsl.profiler.protobuf.xplane_pb2`), whose location inside the
TensorFlow package is not a public API; it was checked with TensorFlow 2.21.
"""

import collections
import json
import pathlib
import tempfile
import time

from absl import app
from absl import flags

_STEPS = flags.DEFINE_integer("steps", 5, "Profiled training steps.")
_WARMUP = flags.DEFINE_integer(
    "warmup", 3, "Steps before profiling (tracing included)."
)
_BATCH = flags.DEFINE_integer("batch", 64, "Images per discriminator update.")
_INTER_OP_THREADS = flags.DEFINE_integer(
    "inter_op_threads",
    1,
    "TensorFlow inter-op threads; 0 keeps TensorFlow's default.",
)
_TOP = flags.DEFINE_integer("top", 20, "Convolution ops to list.")
_OUTPUT = flags.DEFINE_string(
    "output", None, "Write the times per step as JSON here."
)

# Op types of convolutions and their gradients, by what they compute.
_CATEGORIES = {
    "Conv2DBackpropFilter": "filter gradients",
    "Conv2DBackpropInput": "input gradients and transposed convolutions",
    "Conv2D": "forward convolutions",
    "FusedConv2D": "forward convolutions",
}


def _category(op_type: str) -> str:
    # oneDNN kernels carry prefixes such as `_MklNative`.
    for suffix, category in _CATEGORIES.items():
        if op_type.endswith(suffix):
            return category
    return "other ops"


def _op_times(xspace_path: pathlib.Path) -> dict[str, float]:
    """Sum the milliseconds of each `name:type` op on TF's executor threads."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(xspace_path.read_bytes())
    times = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                # Op events are named `name:type`. Executor events, such as
                # `ExecutorState::Process`, span many ops.
                if ":" in name and "::" not in name:
                    times[name] += event.duration_ps / 1e9
    return times


def main(argv: list[str]) -> None:
    del argv
    from benchmarks import sndcgan_step

    import tensorflow as tf

    if _INTER_OP_THREADS.value:
        tf.config.threading.set_inter_op_parallelism_threads(
            _INTER_OP_THREADS.value
        )
    config, d_and_g_step = sndcgan_step.build(_BATCH.value)
    inputs = sndcgan_step.step_inputs(config, 0)
    for _ in range(_WARMUP.value):
        float(d_and_g_step(inputs)["loss/d"])

    with tempfile.TemporaryDirectory() as log_dir:
        tf.profiler.experimental.start(log_dir)
        start = time.perf_counter()
        for _ in range(_STEPS.value):
            float(d_and_g_step(inputs)["loss/d"])
        wall_ms = 1000 * (time.perf_counter() - start) / _STEPS.value
        tf.profiler.experimental.stop()
        xspace_paths = sorted(pathlib.Path(log_dir).rglob("*.xplane.pb"))
        if not xspace_paths:
            raise RuntimeError(
                f"TensorFlow's profiler wrote no .xplane.pb file in {log_dir}."
            )
        times = _op_times(xspace_paths[0])

    per_step = {name: ms / _STEPS.value for name, ms in times.items()}
    by_type = collections.Counter()
    by_category = collections.Counter()
    for name, ms in per_step.items():
        op_type = name.rpartition(":")[2]
        by_type[op_type] += ms
        by_category[_category(op_type)] += ms

    print(f"Wall time per step: {wall_ms:.0f} ms; op times per step:")
    print("| ops | ms per step |\n| --- | --- |")
    for category, ms in by_category.most_common():
        print(f"| {category} | {ms:.0f} |")
    print("\n| op type | ms per step |\n| --- | --- |")
    for op_type, ms in by_type.most_common(15):
        print(f"| {op_type} | {ms:.1f} |")
    convolutions = [
        (name, ms)
        for name, ms in per_step.items()
        if _category(name.rpartition(":")[2]) != "other ops"
    ]
    convolutions.sort(key=lambda item: -item[1])
    print("\n| convolution op | ms per step |\n| --- | --- |")
    for name, ms in convolutions[: _TOP.value]:
        print(f"| {name} | {ms:.1f} |")
    if _OUTPUT.value:
        record = {
            "wall_ms_per_step": wall_ms,
            "ms_per_step_by_category": dict(by_category),
            "ms_per_step_by_op_type": dict(by_type),
            "ms_per_step_by_op": per_step,
        }
        pathlib.Path(_OUTPUT.value).write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    app.run(main)
