"""Discriminator normalization layers: spectral norm, batch norm, layer norm.

Spectral normalization (Miyato et al., arXiv 1802.05957) as compare_gan
implements it: the kernel of shape (KH, KW, C_in, C_out) is viewed as a
matrix W of shape (KH * KW * C_in, C_out); a persistent, non-trainable vector
u of shape (KH * KW * C_in, 1), drawn from N(0, 1), drives one power
iteration per training call:

1. v = normalize(W^T u)
2. u = normalize(W v), written back into the u variable
3. sigma = u^T W v, with u and v held constant for differentiation
4. the layer computes with W / sigma; the kernel variable is never changed.

Keras's own `keras.layers.SpectralNormalization` writes W / sigma into the
kernel variable, which cuts the gradient path through sigma; this module
therefore has its own layer.

Batch norm and layer norm use the study's constants, which differ from the
Keras defaults: momentum 0.9 and epsilon 1e-5 (2e-5 in the SNDCGAN
generator) for batch norm, and statistics over (H, W, C) with per-channel
scale and offset and epsilon 1e-12 for layer norm.

Under a mixed dtype policy, the power iteration and sigma are computed in
float32 and only the normalized kernel is cast to the compute dtype. Batch
norm computes its statistics in float32, because Keras upcasts them.
"""

import math
import threading

import keras
import tensorflow as tf

NORMALIZE_EPSILON = 1e-12


def _normalize(vector: tf.Tensor) -> tf.Tensor:
    return tf.math.l2_normalize(vector, epsilon=NORMALIZE_EPSILON)


class SpectralNormalization(keras.layers.Layer):
    """Wraps a `Dense` or `Conv2D` layer and divides its kernel by sigma(W).

    Call as `layer(x, training=...)`. A call with `training=True` runs one
    power iteration and stores the new u; a call with `training=False` (or
    `None`) computes sigma from the stored u without changing it.

    Deviation: compare_gan advances u on every discriminator call, evaluation
    calls included, two or three times per training step. Here only training
    calls advance it, and the trainer makes one such call per discriminator
    update, so the estimate does not depend on how many passes a step makes
    and evaluation leaves the model unchanged. With u fixed, sigma is
    u^T W v with v = normalize(W^T u).

    Args:
      layer: A `keras.layers.Dense` or `keras.layers.Conv2D` with
        channels-last data and no dilation.
    """

    def __init__(self, layer: keras.layers.Layer, **kwargs):
        # Without autocasting, the kernel and u read as float32 under a mixed
        # policy, so the power iteration runs in float32; `call` casts the
        # normalized kernel to the compute dtype itself.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        if isinstance(layer, keras.layers.Conv2DTranspose) or not isinstance(
            layer, (keras.layers.Dense, keras.layers.Conv2D)
        ):
            raise TypeError(
                "SpectralNormalization wraps a keras.layers.Dense or "
                f"keras.layers.Conv2D. Received: {type(layer).__name__}."
            )
        if isinstance(layer, keras.layers.Conv2D):
            if layer.data_format != "channels_last":
                raise ValueError(
                    "SpectralNormalization supports channels_last "
                    f"convolutions. Received: data_format={layer.data_format}."
                )
            if tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1:
                raise ValueError(
                    "SpectralNormalization supports convolutions without "
                    "dilation or groups. Received: "
                    f"dilation_rate={layer.dilation_rate}, "
                    f"groups={layer.groups}."
                )
        self.layer = layer

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel_shape = tuple(self.layer.kernel.shape)
        rows = math.prod(kernel_shape[:-1])
        self.u = self.add_weight(
            name="u",
            shape=(rows, 1),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
            aggregation="mean",
        )

    def _weight_matrix(self) -> tf.Tensor:
        kernel = tf.convert_to_tensor(self.layer.kernel)
        # (KH, KW, C_in, C_out) -> (KH * KW * C_in, C_out).
        return tf.reshape(tf.cast(kernel, tf.float32), [-1, kernel.shape[-1]])

    def compute_sigma(self, training: bool = False) -> tf.Tensor:
        """Return sigma(W), advancing u first when `training` is true."""
        matrix = self._weight_matrix()
        u = tf.convert_to_tensor(self.u)
        v = _normalize(tf.matmul(matrix, u, transpose_a=True))
        if training:
            u = _normalize(tf.matmul(matrix, v))
            self.u.assign(u)
        u = tf.stop_gradient(u)
        v = tf.stop_gradient(v)
        return tf.squeeze(tf.matmul(u, tf.matmul(matrix, v), transpose_a=True))

    def normalized_kernel(self, training: bool = False) -> tf.Tensor:
        """Return the kernel divided by sigma(W), in the kernel's shape."""
        sigma = self.compute_sigma(training)
        return tf.cast(self.layer.kernel, tf.float32) / sigma

    def call(self, inputs, training=None):
        kernel = tf.cast(self.normalized_kernel(bool(training)), inputs.dtype)
        if isinstance(self.layer, keras.layers.Dense):
            outputs = tf.matmul(inputs, kernel)
        else:
            outputs = keras.ops.conv(
                inputs,
                kernel,
                strides=self.layer.strides,
                padding=self.layer.padding,
                data_format="channels_last",
            )
        if self.layer.use_bias:
            outputs = outputs + tf.cast(self.layer.bias, outputs.dtype)
        if self.layer.activation is not None:
            outputs = self.layer.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)


class BatchNormalization(keras.layers.BatchNormalization):
    """Keras batch norm that can repeat its last moving-average update.

    The trainer runs the generator forward once for both updates of a step
    (`GanModel.discriminator_and_generator_step`), where a second forward
    pass on the same latents would compute the same batch statistics and
    move the averages a second time. `repeat_moving_average_update` applies
    that second update with the same expression Keras uses, so the averages
    end where two forward passes would leave them.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._last_moments = {}

    @staticmethod
    def _call_site() -> tuple[int, int]:
        # MirroredStrategy traces each replica's step in its own thread on
        # the same layer, so the moments are kept per thread and graph.
        graph = tf.compat.v1.get_default_graph()
        return threading.get_ident(), id(graph)

    def _moments(self, inputs, mask):
        moments = super()._moments(inputs, mask)
        self._last_moments[self._call_site()] = moments
        return moments

    def repeat_moving_average_update(self) -> None:
        """Move the averages once more by the last training call's moments.

        Call it in the same traced function and thread as that call.

        Raises:
          RuntimeError: No training-mode call preceded it.
        """
        moments = self._last_moments.pop(self._call_site(), None)
        if moments is None:
            raise RuntimeError(
                f"{self.name}: repeat_moving_average_update needs a "
                "training-mode call before it, in the same function."
            )
        mean, variance = moments
        moving_mean = keras.ops.cast(self.moving_mean, mean.dtype)
        moving_variance = keras.ops.cast(self.moving_variance, variance.dtype)
        self.moving_mean.assign(
            moving_mean * self.momentum + mean * (1.0 - self.momentum)
        )
        self.moving_variance.assign(
            moving_variance * self.momentum
            + variance * (1.0 - self.momentum)
        )


def batch_norm(epsilon: float = 1e-5, name: str | None = None):
    """Return batch norm with the study's decay 0.9 over the last axis.

    The statistics are synchronized across replicas, so a run on several
    devices normalizes over the global batch, as one device would. With one
    replica this changes nothing.
    """
    return BatchNormalization(
        momentum=0.9, epsilon=epsilon, synchronized=True, name=name
    )


def layer_norm(name: str | None = None):
    """Return layer norm over (H, W, C) with per-channel scale and offset.

    This is TF1 `contrib.layers.layer_norm` with its default arguments, as the
    study's ResNet discriminators used it: one group over all channels, and
    its variance epsilon of 1e-12. The layer computes in float32 under every
    dtype policy, because 1e-12 is below float16's smallest value and Keras's
    group normalization does not upcast its inputs itself (Keras 3.15).
    """
    return keras.layers.GroupNormalization(
        groups=1, epsilon=1e-12, dtype="float32", name=name
    )
