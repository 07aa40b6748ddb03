"""tfgan_study: the GAN landscape of Kurach et al. (ICML 2019) in TF2/Keras 3."""

import os

# TensorFlow 2.21's x86 wheel leaves the oneDNN kernels off unless this is
# set before TensorFlow is imported. With them, convolutions on a 2-core
# x86 CPU (AMD EPYC with AVX2) ran about 3 times faster. A value set by the
# user wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
