"""Training and evaluation of one GAN: `train_and_evaluate` and its phases.

The run directory layout is described in `run_dir`. The order of work:

1. Validate the config, check the dataset, and compare with a stored config
   when the model directory already contains a run. Nothing is written before
   all of this passes.
2. Build the networks and optimizers inside the strategy's scope and
   restore the latest checkpoint, if any.
3. Train: one discriminator update per step and a generator update every
   `disc_iters` steps, with a status line every `log_every_steps`,
   checkpoints every `checkpoint_every_steps` and evaluations every
   `eval_every_steps` (each evaluated step is also checkpointed).

Every random value of step s (the real batch, z, the WGAN-GP coefficients and
the DRAGAN noise) is a function of the seed and s alone, drawn for the global
batch and then split across replicas. A resumed run therefore sees exactly
the data and noise of an uninterrupted one, and the number of replicas does
not change what the model sees.
"""

import math
import os
import time
from typing import Any, Callable

import tensorflow as tf
from absl import logging

from tfgan_study import checkpoints
from tfgan_study import config as config_lib
from tfgan_study import datasets
from tfgan_study import distribution
from tfgan_study import eval_lib
from tfgan_study import gan_model
from tfgan_study import run_dir

# Offsets that separate the stateless random streams derived from one seed.
_Z_STREAM = 1
_ALPHA_STREAM = 2
_DRAGAN_STREAM = 3


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite; the message names the step and loss."""


class TrainingInterrupted(Exception):
    """Training stopped on request (SIGTERM) after saving a checkpoint."""

    def __init__(self, step: int):
        super().__init__(f"Training interrupted at step {step}.")
        self.step = step


def _stream_seed(seed: int, stream: int, step: tf.Tensor) -> tf.Tensor:
    return tf.stack([tf.constant(seed * 16 + stream, tf.int64), step])


def step_randomness(
    config: config_lib.StudyConfig,
    step: tf.Tensor,
    images: tf.Tensor,
) -> dict[str, tf.Tensor]:
    """Return the random inputs of step `step` for the whole global batch.

    Args:
      config: The resolved config.
      step: The step number, an int64 scalar tensor.
      images: The global real batch [global_batch_size, H, W, C].

    Returns:
      A dict with the fields of `gan_model.StepInputs`.
    """
    batch = config.global_batch_size
    z = tf.random.stateless_uniform(
        [batch, config.z_dim],
        seed=_stream_seed(config.seed, _Z_STREAM, step),
        minval=-1.0,
        maxval=1.0,
    )
    alpha = tf.random.stateless_uniform(
        [batch], seed=_stream_seed(config.seed, _ALPHA_STREAM, step)
    )
    if config.penalty == "dragan":
        noise = tf.random.stateless_uniform(
            tf.shape(images), seed=_stream_seed(config.seed, _DRAGAN_STREAM, step)
        )
    else:
        noise = tf.zeros([batch, 0])
    std = tf.fill([batch], tf.math.reduce_std(images))
    return {
        "images": images,
        "z": z,
        "alpha": alpha,
        "dragan_noise": noise,
        "dragan_std": std,
    }


def build_distributed_inputs(
    strategy: tf.distribute.Strategy,
    config: config_lib.StudyConfig,
    info: datasets.DatasetInfo,
    start_step: int,
    end_step: int,
):
    """Return a distributed dataset with one element per step from `start_step`.

    Each input pipeline computes the whole global batch of a step and keeps
    the slices of its own replicas, replica r taking examples
    [r * per_replica, (r + 1) * per_replica).
    """
    num_replicas = strategy.num_replicas_in_sync

    def dataset_fn(input_context: tf.distribute.InputContext):
        per_replica = input_context.get_per_replica_batch_size(
            config.global_batch_size
        )
        local_replicas = num_replicas // input_context.num_input_pipelines
        first = input_context.input_pipeline_id * local_replicas
        images = datasets.build_train_dataset(config, info, start_step, end_step)
        steps = tf.data.Dataset.range(start_step, end_step)

        def make_step(step, step_images):
            return step_randomness(config, step, step_images)

        def split(values):
            def local_slices(tensor):
                shape = tf.concat([[num_replicas, per_replica], tf.shape(tensor)[1:]], 0)
                return tf.reshape(tensor, shape)[first : first + local_replicas]

            return tf.data.Dataset.from_tensor_slices(
                tf.nest.map_structure(local_slices, values)
            )

        dataset = tf.data.Dataset.zip(steps, images).map(
            make_step, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
        return dataset.flat_map(split).prefetch(2 * local_replicas)

    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(dataset_fn, options)


def prepare_model_dir(
    config: config_lib.StudyConfig, model_dir: str, num_channels: int
) -> config_lib.StudyConfig:
    """Check `config` against a run already in `model_dir`, then save it.

    Raises:
      ConfigError: If the stored run differs in a setting that changes the
        model's mathematics, or its images had another channel count;
        nothing is written then.
    """
    stored = run_dir.load_config(model_dir)
    if stored is not None:
        config_lib.check_resume_compatible(stored, config)
        stored_channels = run_dir.load_num_channels(model_dir)
        if stored_channels != num_channels:
            raise config_lib.ConfigError(
                f"The run in {model_dir} was trained on images with "
                f"{stored_channels} channels, but {config.dataset} now has "
                f"{num_channels}. Use a new --model_dir for these images."
            )
        logging.info("Resuming the run in %s.", model_dir)
    run_dir.save_config(model_dir, config, num_channels)
    return config


class _Progress:
    """Step rate and ETA over the steps since the last status line."""

    def __init__(self, start_step: int, end_step: int, batch_size: int):
        self.end_step = end_step
        self.batch_size = batch_size
        self.window_start = time.time()
        self.window_step = start_step

    def line(self, step: int, values: dict[str, float]) -> tuple[str, dict]:
        now = time.time()
        steps_per_sec = (step - self.window_step) / max(
            now - self.window_start, 1e-9
        )
        self.window_start, self.window_step = now, step
        remaining = (self.end_step - step) / max(steps_per_sec, 1e-9)
        perf = {
            "perf/steps_per_sec": steps_per_sec,
            "perf/images_per_sec": steps_per_sec * self.batch_size,
        }
        losses = " ".join(
            f"{name.split('/')[-1]}={value:.4f}"
            for name, value in sorted(values.items())
        )
        text = (
            f"step {step}/{self.end_step} ({100.0 * step / self.end_step:.1f}%)"
            f" {losses} {steps_per_sec:.2f} steps/s "
            f"{perf['perf/images_per_sec']:.1f} images/s "
            f"ETA {time.strftime('%H:%M:%S', time.gmtime(remaining))}"
        )
        return text, perf


def _device_type(strategy: tf.distribute.Strategy) -> str:
    """Return `TPU`, `GPU` or `CPU`: the kind of device the step runs on."""
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "TPU"
    if tf.config.list_logical_devices("GPU"):
        return "GPU"
    return "CPU"


def _make_step_functions(strategy, model: gan_model.GanModel):
    """Return the compiled (d_step, d_and_g_step) of `model` under `strategy`.

    With XLA on (`config.use_xla`), each replica's update is compiled as one
    XLA cluster; the reduction across replicas stays outside it.
    """
    use_xla = config_lib.use_xla(model.config, _device_type(strategy))
    if use_xla:
        logging.info("Compiling the training step with XLA.")

    def reduce(values):
        return {
            name: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
            for name, value in values.items()
        }

    @tf.function(jit_compile=use_xla)
    def d_replica_step(batch):
        return model.discriminator_step(gan_model.StepInputs(**batch))

    @tf.function(jit_compile=use_xla)
    def d_and_g_replica_step(batch):
        return model.discriminator_and_generator_step(
            gan_model.StepInputs(**batch)
        )

    @tf.function
    def d_step(inputs):
        values = strategy.run(d_replica_step, args=(inputs,))
        model.step.assign_add(1)
        return reduce(values)

    @tf.function
    def d_and_g_step(inputs):
        values = strategy.run(d_and_g_replica_step, args=(inputs,))
        model.step.assign_add(1)
        return reduce(values)

    return d_step, d_and_g_step


def _check_finite(step: int, values: dict[str, float]) -> None:
    for name, value in sorted(values.items()):
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"{name} became {value} at step {step}. The last checkpoint "
                "written before this step is kept; lower the learning rate "
                "or change the penalty to continue."
            )


def train_and_evaluate(
    config: config_lib.StudyConfig,
    model_dir: str,
    strategy: tf.distribute.Strategy,
    stop_requested: Callable[[], bool] = lambda: False,
) -> int:
    """Train (or resume) the run in `model_dir` to `config.training_steps`.

    Args:
      config: A resolved config.
      model_dir: The run's directory; created if missing.
      strategy: The distribution strategy; models are built in its scope.
      stop_requested: Polled after every step; when it returns true the run
        saves a checkpoint and raises `TrainingInterrupted`.

    Returns:
      The final step.

    Raises:
      ConfigError: For bad configuration or data, before anything is written.
      TrainingDiverged: When a loss becomes NaN or infinite.
      TrainingInterrupted: When `stop_requested` returned true.
    """
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise config_lib.ConfigError(
            f"model_dir {model_dir} exists and is not a directory."
        )
    logging.info("Checking the dataset %s.", config.dataset)
    info = datasets.check_available(config)
    config_lib.check_divisible_batch(config, strategy.num_replicas_in_sync)
    chief = distribution.is_chief(strategy)
    # Everything that can reject the input runs before the first write: the
    # feature network loads and the training images decode here (in-memory
    # datasets keep the decoded images for the real pipeline).
    extractor = None
    if config.eval_every_steps and chief:
        extractor = eval_lib.load_feature_extractor(config.eval_model)
    datasets.build_train_dataset(config, info, 0, 1)
    # Fails when every checkpoint is damaged; the restore below reports and
    # sets aside the damaged ones once the model exists.
    checkpoints.CheckpointStore(
        model_dir, tf.train.Checkpoint()
    ).find_latest_intact()
    if chief:
        prepare_model_dir(config, model_dir, info.num_channels)
    logging.info(
        "Global batch %d over %d replicas (%d per replica); model_dir %s.",
        config.global_batch_size,
        strategy.num_replicas_in_sync,
        config.global_batch_size // strategy.num_replicas_in_sync,
        model_dir,
    )
    logging.info("Configuration:\n%s", config_lib.to_json(config))

    logging.info("Building the networks and optimizers.")
    with strategy.scope():
        model = gan_model.GanModel(
            config, info.num_channels, strategy.num_replicas_in_sync
        )
    store = checkpoints.CheckpointStore(
        model_dir,
        model.checkpoint(),
        is_chief=chief,
        worker_index=distribution.worker_index(),
    )
    restored = store.restore_latest_intact()
    if restored is not None:
        logging.info("Restored the checkpoint of step %d.", restored)
    start_step = int(model.step.numpy())
    end_step = config.training_steps
    if start_step >= end_step:
        logging.info("The run already reached step %d.", start_step)
        return start_step

    evaluator = None
    if config.eval_every_steps and chief:
        evaluator = eval_lib.Evaluator(
            config,
            info,
            str(run_dir.reference_stats_dir(model_dir)),
            extractor,
        )
    writer = (
        tf.summary.create_file_writer(str(run_dir.summaries_dir(model_dir)))
        if chief
        else tf.summary.create_noop_writer()
    )
    inputs = iter(
        build_distributed_inputs(strategy, config, info, start_step, end_step)
    )
    d_step, d_and_g_step = _make_step_functions(strategy, model)
    any_stop = distribution.make_any_worker(strategy)
    progress = _Progress(start_step, end_step, config.global_batch_size)
    last_values: dict[str, float] = {}
    logging.info(
        "Training from step %d to %d; compiling the first step.",
        start_step,
        end_step,
    )
    for step in range(start_step, end_step):
        step_fn = d_and_g_step if step % config.disc_iters == 0 else d_step
        values = {
            name: float(value.numpy())
            for name, value in step_fn(next(inputs)).items()
        }
        done = step + 1
        _check_finite(done, values)
        last_values.update(values)
        saved = _after_step(
            config, model_dir, model, store, evaluator, writer, progress,
            done, last_values, chief,
        )
        # Every worker must agree to stop, because a save is collective.
        if done < end_step and any_stop(stop_requested()):
            if not saved:
                store.save(done)
            logging.warning(
                "Stop requested: saved the checkpoint of step %d.", done
            )
            raise TrainingInterrupted(done)
    if chief:
        logging.info(
            "Training finished at step %d; %s.",
            end_step,
            eval_lib.score_path_summary(model_dir),
        )
    return end_step


def _every(step: int, period: int, end_step: int) -> bool:
    return (period > 0 and step % period == 0) or step == end_step


def _after_step(
    config: config_lib.StudyConfig,
    model_dir: str,
    model: gan_model.GanModel,
    store: checkpoints.CheckpointStore,
    evaluator: eval_lib.Evaluator | None,
    writer,
    progress: _Progress,
    step: int,
    values: dict[str, float],
    chief: bool,
) -> bool:
    """Log, checkpoint and evaluate after step `step` on their cadences.

    Returns:
      Whether a checkpoint of `step` was saved.
    """
    end_step = config.training_steps
    if config.log_every_steps and _every(step, config.log_every_steps, end_step):
        text, perf = progress.line(step, values)
        if chief:
            logging.info("%s", text)
            record: dict[str, Any] = {"step": step, **values, **perf}
            run_dir.append_metrics(model_dir, record)
            with writer.as_default(step=step):
                for name, value in {**values, **perf}.items():
                    tf.summary.scalar(name, value)
    evaluate = evaluator is not None and _every(
        step, config.eval_every_steps, end_step
    )
    checkpoint = evaluate or _every(
        step, config.checkpoint_every_steps, end_step
    )
    if checkpoint:
        store.save(step)
    if evaluate:
        _evaluate(config, model_dir, model, store, evaluator, writer, step)
    if checkpoint:
        store.prune()
    return checkpoint


def _evaluate(config, model_dir, model, store, evaluator, writer, step):
    logging.info("Evaluating step %d on %d samples.", step, config.num_eval_samples)
    row = evaluator.evaluate(model.generator)
    row["step"] = step
    run_dir.append_score(model_dir, row, config)
    store.record_fid(step, float(row["fid"]))
    eval_lib.save_sample_grid(
        model.generator, config.z_dim, str(run_dir.samples_path(model_dir, step))
    )
    logging.info(
        "Step %d: status=%s fid=%s kid=%s inception_score=%s ms_ssim=%s "
        "(%d samples, %s, %.1f s).",
        step,
        row["status"],
        row["fid"],
        row["kid"],
        row["inception_score"],
        row["ms_ssim"],
        config.num_eval_samples,
        config.eval_model,
        row["eval_seconds"],
    )
    with writer.as_default(step=step):
        for name in ("fid", "kid", "inception_score", "ms_ssim"):
            if isinstance(row[name], float):
                tf.summary.scalar(f"eval/{name}", row[name])
        samples = eval_lib.fixed_latents(64, config.z_dim)
        tf.summary.image(
            "samples",
            model.generator(samples, training=False),
            max_outputs=16,
        )
