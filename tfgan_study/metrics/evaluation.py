"""All scores of one set of generated images against a reference set.

`compute_scores` turns the feature network's outputs into the values that a
row of `scores.csv` records: FID, KID, the Inception Score and, when images
are given, the MS-SSIM diversity.
"""

from typing import Any

import numpy as np

from tfgan_study import metrics
from tfgan_study.metrics import feature_extractor
from tfgan_study.metrics import fid
from tfgan_study.metrics import kid


def compute_scores(
    fake: feature_extractor.Activations,
    reference: feature_extractor.Activations,
    fake_images_for_ms_ssim: np.ndarray | None = None,
    ms_ssim_seed: int = 0,
) -> dict[str, Any]:
    """Computes FID, KID, the Inception Score and MS-SSIM diversity.

    Args:
        fake: Features (and logits) of the generated images, features of
            shape [num_fake, feature_dim].
        reference: Features of the real reference images, shape
            [num_reference, feature_dim]. Its logits are not used.
        fake_images_for_ms_ssim: Generated images of shape [num_images,
            height, width, channels] with values in [0, 1], or None to skip
            MS-SSIM. The study computes MS-SSIM for CelebA-HQ only.
        ms_ssim_seed: Seed of the shuffle into MS-SSIM batches.

    Returns:
        A dict with keys:
        - "fid": float, FID between the two feature sets;
        - "kid": float, KID between them, possibly slightly negative;
        - "inception_score": float from the fake logits as one split, or
          None when the feature network has no logits;
        - "inception_score_std": 0.0 for the one split, or None without
          logits;
        - "ms_ssim": float MS-SSIM diversity, or None when no images are
          given.

    Raises:
        ValueError: If the feature dimensions differ, a set is too small for
            a metric, or the images are invalid for MS-SSIM.
    """
    fake_dim = np.shape(fake.features)[-1]
    reference_dim = np.shape(reference.features)[-1]
    if fake_dim != reference_dim:
        raise ValueError(
            "Fake and reference features must come from the same network. "
            f"Received: fake feature_dim={fake_dim}, reference "
            f"feature_dim={reference_dim}."
        )
    scores = {
        "fid": fid.frechet_distance_from_features(
            fake.features, reference.features
        ),
        "kid": kid.kernel_inception_distance(reference.features, fake.features),
        "inception_score": None,
        "inception_score_std": None,
        "ms_ssim": None,
    }
    if fake.logits is not None:
        mean, std = metrics.inception_score(fake.logits)
        scores["inception_score"] = mean
        scores["inception_score_std"] = std
    if fake_images_for_ms_ssim is not None:
        scores["ms_ssim"] = metrics.compute_ms_ssim_diversity(
            fake_images_for_ms_ssim, seed=ms_ssim_seed
        )
    return scores
