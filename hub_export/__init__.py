"""Export of trained GANs as TF2 SavedModels that `hub.load` can read.

`export_lib` writes and verifies the SavedModel of a run's generator and
discriminator; `sample_lib` draws an image grid from such a module. The
binaries `python -m hub_export.export` and `python -m hub_export.sample` wrap
them.
"""
