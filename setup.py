"""Install tfgan_study: `pip install -c requirements.lock -e .[test]`."""

import setuptools

setuptools.setup(
    name="tfgan_study",
    version="0.1.0",
    description=(
        "The GAN landscape of Kurach et al. (ICML 2019) in TensorFlow 2 and "
        "Keras 3: training, evaluation, search and TF-Hub export."
    ),
    python_requires=">=3.11",
    packages=setuptools.find_packages(
        include=["tfgan_study*", "hub_export*", "tuner*"]
    ),
    install_requires=[
        # Not tensorflow-cpu: tensorflow-hub pulls in tf-keras, which
        # requires the tensorflow package itself.
        "tensorflow==2.21.0",
        "tensorflow-hub==0.16.1",
        # tensorflow-hub 0.16.1 imports pkg_resources, which setuptools 81
        # and newer no longer ship; torch 2.13 pulls in a newer setuptools.
        "setuptools<81",
        "tensorflow-datasets==4.9.10",
        # tensorflow-datasets 4.9.10 imports it for some builders
        # (fashion_mnist among them) without declaring it.
        "importlib_resources>=6",
        "absl-py>=2.1",
        "numpy>=1.26",
        "pillow>=10",
        "tensorboard>=2.21",
        # tuner/: keras-tuner's Gaussian-process oracle needs scikit-learn
        # and scipy; its distributed mode needs grpcio and protobuf, which
        # keras-tuner declares itself. matplotlib draws the report figures.
        "keras-tuner==1.4.8",
        "scikit-learn>=1.4",
        "scipy>=1.13",
        "matplotlib>=3.8",
    ],
    extras_require={
        "test": ["pytest>=8", "hypothesis>=6.100", "scipy>=1.13"],
        # The PyTorch reference of the benchmarks; an unpinned torch pulls a
        # CUDA build of several GB.
        "bench": ["torch==2.13.0"],
    },
)
