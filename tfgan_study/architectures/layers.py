"""Layers shared by the architectures: convolutions with optional spectral
norm, the discriminator normalization switch, unpooling and ResNet blocks.

The ResNet blocks follow compare_gan's `resnet_block` (Kurach et al., arXiv
1807.04720): the shortcut is always a 3x3 convolution, generator blocks
up-sample by zero insertion before their first convolution, and
discriminator blocks average-pool after their second convolution.
"""

import keras
import tensorflow as tf

from tfgan_study import normalization


def normal_init() -> keras.initializers.Initializer:
    """N(0, 0.02^2): dense, transposed-convolution and SNDCGAN D kernels."""
    return keras.initializers.RandomNormal(stddev=0.02)


def truncated_normal_init() -> keras.initializers.Initializer:
    """Truncated N(0, 0.02^2): the ResNet convolution kernels."""
    return keras.initializers.TruncatedNormal(stddev=0.02)


def conv2d(
    filters: int,
    kernel_size: int,
    strides: int,
    use_spectral_norm: bool,
    kernel_initializer: keras.initializers.Initializer,
    name: str | None = None,
) -> keras.layers.Layer:
    """Return a `SAME`-padded convolution, wrapped in spectral norm if asked."""
    layer = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        kernel_initializer=kernel_initializer,
        name=name,
    )
    if use_spectral_norm:
        return normalization.SpectralNormalization(layer)
    return layer


def dense(
    units: int, use_spectral_norm: bool, name: str | None = None
) -> keras.layers.Layer:
    """Return a dense layer with N(0, 0.02^2) kernels, optionally with SN."""
    layer = keras.layers.Dense(
        units, kernel_initializer=normal_init(), name=name
    )
    if use_spectral_norm:
        return normalization.SpectralNormalization(layer)
    return layer


def d_normalize(x, kind: str, training=None):
    """Apply the discriminator's batch or layer norm; other kinds pass x on."""
    if kind == "batch_norm":
        return normalization.batch_norm(epsilon=1e-5)(x, training=training)
    if kind == "layer_norm":
        return normalization.layer_norm()(x)
    return x


class Unpool(keras.layers.Layer):
    """Doubles H and W by zero insertion, as compare_gan's `unpool`.

    Each input pixel goes to the top-left position of its 2x2 output cell and
    the other three positions are zero. This is not nearest-neighbour
    up-sampling.
    """

    def call(self, inputs):
        shape = tf.shape(inputs)
        batch, height, width = shape[0], shape[1], shape[2]
        channels = inputs.shape[-1]
        zeros = tf.zeros_like(inputs)
        # [B, H, W, 2C] -> [B, H, 2W, C]: pixels on even columns.
        rows = tf.reshape(
            tf.concat([inputs, zeros], axis=-1),
            [batch, height, 2 * width, channels],
        )
        # [B, H, 4W, C] -> [B, 2H, 2W, C]: pixel rows on even rows.
        return tf.reshape(
            tf.concat([rows, tf.zeros_like(rows)], axis=2),
            [batch, 2 * height, 2 * width, channels],
        )

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        double = lambda size: None if size is None else 2 * size
        return (batch, double(height), double(width), channels)


class SqueezeLogits(keras.layers.Layer):
    """Maps logits of shape [batch_size, 1] to float32 [batch_size]."""

    def call(self, inputs):
        return tf.cast(tf.squeeze(inputs, axis=-1), tf.float32)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]


def g_block(x, out_channels: int, batch_norm_epsilon: float = 1e-5):
    """ResNet generator block that doubles the resolution.

    Main path: BN, ReLU, unpool, 3x3 conv, BN, ReLU, 3x3 conv. Shortcut:
    unpool, 3x3 conv. Returns main + shortcut.
    """
    main = normalization.batch_norm(batch_norm_epsilon)(x)
    main = keras.layers.ReLU()(main)
    main = Unpool()(main)
    main = conv2d(out_channels, 3, 1, False, truncated_normal_init())(main)
    main = normalization.batch_norm(batch_norm_epsilon)(main)
    main = keras.layers.ReLU()(main)
    main = conv2d(out_channels, 3, 1, False, truncated_normal_init())(main)
    shortcut = Unpool()(x)
    shortcut = conv2d(out_channels, 3, 1, False, truncated_normal_init())(
        shortcut
    )
    return keras.layers.Add()([main, shortcut])


def d_block(x, out_channels: int, down_sample: bool, normalization_kind: str):
    """ResNet discriminator block.

    Main path: norm, ReLU, 3x3 conv, norm, ReLU, 3x3 conv, then 2x2 average
    pooling when `down_sample`. Shortcut: 3x3 conv, then the same pooling.
    Every convolution gets spectral norm when `normalization_kind` is
    `spectral_norm`; `batch_norm` and `layer_norm` act at the two
    pre-activation points.
    """
    use_sn = normalization_kind == "spectral_norm"
    main = d_normalize(x, normalization_kind)
    main = keras.layers.ReLU()(main)
    main = conv2d(out_channels, 3, 1, use_sn, truncated_normal_init())(main)
    main = d_normalize(main, normalization_kind)
    main = keras.layers.ReLU()(main)
    main = conv2d(out_channels, 3, 1, use_sn, truncated_normal_init())(main)
    shortcut = conv2d(out_channels, 3, 1, use_sn, truncated_normal_init())(x)
    if down_sample:
        main = keras.layers.AveragePooling2D(2, padding="same")(main)
        shortcut = keras.layers.AveragePooling2D(2, padding="same")(shortcut)
    return keras.layers.Add()([main, shortcut])


def resnet_d_head(x, normalization_kind: str):
    """ReLU, mean over H and W, dense to one logit of shape [batch_size]."""
    x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = dense(1, normalization_kind == "spectral_norm")(x)
    return SqueezeLogits()(logits)


def resnet_g_head(x, num_channels: int):
    """BN, ReLU, 3x3 conv to the image channels, sigmoid into [0, 1]."""
    x = normalization.batch_norm(1e-5)(x)
    x = keras.layers.ReLU()(x)
    x = conv2d(num_channels, 3, 1, False, truncated_normal_init())(x)
    return keras.layers.Activation("sigmoid", dtype="float32")(x)
