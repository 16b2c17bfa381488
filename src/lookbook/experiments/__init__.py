"""Online experiments on the served shop: traffic split, interleaving, bandits, sample sizes.

Above ``touchpoints`` (an arm is a set of touchpoint setting overrides) and below ``serving``
(which assigns a request's arm and logs it with the impression).
"""
