"""Sample size of an A/B test on a rate (CTR, purchase rate): users per arm for a given power.

The two-proportion z-test's normal approximation (e.g. Kohavi, Tang and Xu, *Trustworthy Online
Controlled Experiments*, 2020, ch. 17): ``n = (z_{1-alpha/2} sqrt(2 p(1-p)) + z_{power}
sqrt(p1(1-p1) + p2(1-p2)))^2 / (p2 - p1)^2`` per arm, with ``p`` the mean of the two rates.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from lookbook.errors import LookbookError

__all__ = ["users_per_arm"]


def users_per_arm(baseline_rate: float, lift: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Users per arm to detect a relative ``lift`` (0.05: +5 %) on ``baseline_rate``."""
    p1 = float(baseline_rate)
    p2 = p1 * (1.0 + float(lift))
    if not 0.0 < p1 < 1.0:
        raise LookbookError(f"baseline_rate: expected a rate in (0, 1), got {baseline_rate}")
    if lift == 0 or not 0.0 < p2 < 1.0:
        raise LookbookError(
            f"lift: expected a non-zero relative change keeping the rate in (0, 1), got {lift}"
        )
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise LookbookError(f"alpha and power: expected values in (0, 1), got {alpha} and {power}")
    z = NormalDist()
    z_alpha, z_power = z.inv_cdf(1.0 - alpha / 2.0), z.inv_cdf(power)
    p = (p1 + p2) / 2.0
    numerator = z_alpha * math.sqrt(2.0 * p * (1.0 - p)) + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(numerator**2 / (p2 - p1) ** 2)
