"""GAN evaluation metrics: FID, KID, Inception Score and MS-SSIM.

The metric functions are re-exported here, so callers write
`metrics.frechet_distance(...)` or `metrics.ms_ssim(...)`.

The names `inception_score` and `ms_ssim` are the functions. They replace the
submodules of the same name as attributes of this package, so
`from tfgan_study.metrics import ms_ssim` gives the function. The other
submodules (`fid`, `kid`, `feature_extractor`, `reference_cache`,
`evaluation`) import as modules.
"""

from tfgan_study.metrics import fid
from tfgan_study.metrics import inception_score as _inception_score_module
from tfgan_study.metrics import kid
from tfgan_study.metrics import ms_ssim as _ms_ssim_module

frechet_distance = fid.frechet_distance
kernel_inception_distance = kid.kernel_inception_distance
inception_score = _inception_score_module.inception_score
ms_ssim = _ms_ssim_module.ms_ssim
compute_ms_ssim_diversity = _ms_ssim_module.compute_ms_ssim_diversity
