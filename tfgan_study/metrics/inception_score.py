"""Inception Score (IS) from classifier logits.

The Inception Score (Salimans et al., 2016, "Improved Techniques for Training
GANs", https://arxiv.org/abs/1606.03498) is

    IS = exp(mean_i KL(p(y | x_i) || p(y))),

where p(y | x_i) is the classifier's softmax for sample i and p(y) is the
mean of those softmaxes over the samples. It lies between 1 (every sample has
the same prediction) and the number of classes (confident predictions spread
evenly over the classes).
"""

import numpy as np
from scipy import special


def inception_score(
    logits: np.ndarray, num_splits: int = 1
) -> tuple[float, float]:
    """Computes the Inception Score and its spread over splits.

    The logits are converted to float64 log-probabilities with a log-softmax.
    The KL term uses the convention 0 log 0 = 0, so confident predictions
    (for example logits of +-1000) give a finite score, never NaN.

    With `num_splits` > 1, the samples are cut in order into `num_splits`
    contiguous splits whose sizes differ by at most one, the score is
    computed on each split, and the mean and standard deviation (ddof=0) of
    the per-split scores are returned. This is the convention of Salimans et
    al.'s code. It differs from exp of the mean log score over splits.

    The study computes IS as one split over all samples (TF-GAN
    `classifier_score_from_logits`), which is the default here.

    Args:
        logits: Array of shape [num_samples, num_classes], including the
            classifier's bias. For the TF-GAN Inception module these are its
            1008 `logits` outputs, used as they are, as compare_gan does.
        num_splits: Number of splits, from 1 to num_samples. Defaults to 1.

    Returns:
        A tuple `(mean, std)` of Python floats: the mean of the per-split
        scores, in [1, num_classes] up to round-off, and their standard
        deviation, 0.0 for one split.

    Raises:
        ValueError: If `logits` is not 2-D, is empty or contains NaN or
            infinite values, or if `num_splits` is outside
            [1, num_samples].
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(
            "logits must be a non-empty 2-D array of shape [num_samples, "
            f"num_classes]. Received: shape={logits.shape}."
        )
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits contain NaN or infinite values.")
    num_samples = logits.shape[0]
    if not 1 <= num_splits <= num_samples:
        raise ValueError(
            "num_splits must be between 1 and the number of samples, so that "
            f"no split is empty. Received: num_splits={num_splits}, "
            f"num_samples={num_samples}."
        )

    log_probs = special.log_softmax(logits, axis=1)
    scores = []
    for split in range(num_splits):
        start = split * num_samples // num_splits
        stop = (split + 1) * num_samples // num_splits
        scores.append(_score_one_split(log_probs[start:stop]))
    return float(np.mean(scores)), float(np.std(scores))


def _score_one_split(log_probs: np.ndarray) -> float:
    """Computes exp(mean_i KL(p_i || p_mean)) from log-probabilities.

    Args:
        log_probs: Float64 array of shape [num_samples, num_classes] whose
            rows are log-softmax outputs, so every entry is finite.
    """
    num_samples = log_probs.shape[0]
    # log p_mean, computed in log space so that it stays finite even when
    # every p(y | x_i) underflows to 0 for some class.
    log_mean_probs = special.logsumexp(log_probs, axis=0) - np.log(num_samples)
    probs = np.exp(log_probs)
    # 0 log 0 = 0: a class with probability 0 contributes nothing to the KL.
    kl_terms = np.where(probs > 0.0, probs * (log_probs - log_mean_probs), 0.0)
    mean_kl = float(np.mean(np.sum(kl_terms, axis=1)))
    return float(np.exp(mean_kl))
