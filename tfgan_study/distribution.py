"""The `tf.distribute` strategies of `--strategy`, and which process is chief.

- `default`: one device, TensorFlow's default strategy.
- `mirrored`: every local GPU (or the CPU), `tf.distribute.MirroredStrategy`.
- `multi_worker`: `MultiWorkerMirroredStrategy` over the processes that the
  `TF_CONFIG` environment variable describes.
- `tpu`: `TPUStrategy` on the TPU that `tpu_address` names (empty for the
  local TPU VM).
"""

import json
import os
from typing import Callable

import tensorflow as tf

from tfgan_study import config as config_lib


def create_strategy(name: str, tpu_address: str = "") -> tf.distribute.Strategy:
    """Return the strategy that `--strategy=name` selects.

    Raises:
      ConfigError: If the name is unknown, or `multi_worker` runs without a
        `TF_CONFIG` that describes a cluster.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise config_lib.ConfigError(
                "--strategy=multi_worker needs the TF_CONFIG environment "
                "variable with the cluster and this task, for example "
                '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}.'
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
            tpu=tpu_address
        )
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise config_lib.ConfigError(
        f"Unknown strategy {name!r}. Expected one of: "
        f"{', '.join(sorted(config_lib.STRATEGIES))}."
    )


def worker_index() -> int:
    """Return this process's worker index from TF_CONFIG (0 without one)."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    return int(tf_config.get("task", {}).get("index", 0))


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Return whether this process writes logs, files and checkpoints.

    The chief is worker 0 (or the task of type `chief`) of a multi-worker
    run, and the only process of every other strategy.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    resolver = strategy.cluster_resolver
    if resolver.task_type == "chief":
        return True
    if resolver.task_type == "worker":
        cluster = resolver.cluster_spec().as_dict()
        return "chief" not in cluster and resolver.task_id == 0
    return False


def make_any_worker(strategy: tf.distribute.Strategy) -> Callable[[bool], bool]:
    """Return a function that combines a flag of every worker with OR.

    A stop request (SIGTERM) reaches one process, but under
    `MultiWorkerMirroredStrategy` every worker must take part in the final
    save, so the workers combine their flags with an all-reduce. Every other
    strategy runs in one process and returns the local flag unchanged.
    """
    # NOTE: a TPU pod slice with several hosts runs one process per host
    # under TPUStrategy, which this does not combine; untested here.
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return bool

    @tf.function
    def any_flag(flag):
        per_replica = strategy.run(lambda: tf.cast(flag, tf.int32))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return lambda flag: bool(any_flag(tf.constant(flag)).numpy() > 0)
