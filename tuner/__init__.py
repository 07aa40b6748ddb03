"""The study's hyperparameter search on top of keras-tuner, and its report.

`python -m tuner.search` runs the Table 1 grid or the Table 2 Bayesian
search with one training process per trial. `python -m tuner.report`
summarizes one or more study directories into a table, figures and exported
generators.
"""
