"""A TensorFlow 2 reimplementation of the GAN regularization and normalization study."""

__version__ = "0.1.0"
