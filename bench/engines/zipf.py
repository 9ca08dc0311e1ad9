"""YCSB's key choosers: zipfian (Gray et al., "Quickly generating billion-record
synthetic databases"), scrambled zipfian, skewed-latest and uniform.

Ported from YCSB's ZipfianGenerator, ScrambledZipfianGenerator and
SkewedLatestGenerator: same formulas and constants, so a theta of 0.99 here picks the
same hot-spot shape as YCSB's `requestdistribution=zipfian`.
"""

import random

THETA = 0.99
FNV_OFFSET_64 = 0xCBF29CE484222325
FNV_PRIME_64 = 1099511628211
MASK_64 = (1 << 64) - 1
# YCSB scrambles over a fixed 10^10-item zipfian whose zeta it precomputed for theta 0.99.
SCRAMBLE_ITEMS = 10_000_000_000
SCRAMBLE_ZETAN = 26.46902820178302


def fnv64(value: int) -> int:
    """YCSB's Utils.fnvhash64: FNV-1a over the 8 little-endian bytes, as a positive long."""
    h = FNV_OFFSET_64
    for _ in range(8):
        h = ((h ^ (value & 0xFF)) * FNV_PRIME_64) & MASK_64
        value >>= 8
    signed = h - (1 << 64) if h >> 63 else h
    return abs(signed)


def zeta(start: int, n: int, theta: float, initial: float = 0.0) -> float:
    """sum(1 / i**theta for i in (start, n]), added onto `initial`."""
    return initial + sum(1.0 / (i + 1) ** theta for i in range(start, n))


class Zipfian:
    """Integers in [0, items): 0 the most popular, popularity falling as 1/rank**theta.

    `next(items)` may pass a larger item count than the last call (records were
    inserted); zeta then grows incrementally, as YCSB does.
    """

    def __init__(self, items: int, rng: random.Random, theta: float = THETA,
                 zetan: float | None = None) -> None:
        self.rng, self.theta = rng, theta
        self.alpha = 1.0 / (1.0 - theta)
        self.zeta2 = zeta(0, 2, theta)
        self.half_pow_theta = 1.0 + 0.5**theta
        self.items = items
        self.zetan = zeta(0, items, theta) if zetan is None else zetan
        self.eta = self._eta()

    def _eta(self) -> float:
        return (1 - (2.0 / self.items) ** (1 - self.theta)) / (1 - self.zeta2 / self.zetan)

    def next(self, items: int | None = None) -> int:
        if items is not None and items != self.items:
            if items > self.items:
                self.zetan = zeta(self.items, items, self.theta, self.zetan)
            else:
                self.zetan = zeta(0, items, self.theta)
            self.items = items
            self.eta = self._eta()
        u = self.rng.random()
        uz = u * self.zetan
        if uz < 1.0:
            return 0
        if uz < self.half_pow_theta:
            return 1
        return int(self.items * (self.eta * u - self.eta + 1) ** self.alpha)


class ScrambledZipfian:
    """Zipfian popularity, but the popular items are scattered over [0, items) by a hash."""

    def __init__(self, items: int, rng: random.Random) -> None:
        self.items = items
        self.zipf = Zipfian(SCRAMBLE_ITEMS, rng, THETA, SCRAMBLE_ZETAN)

    def next(self) -> int:
        return fnv64(self.zipf.next()) % self.items


class SkewedLatest:
    """The most recently inserted items are the most popular (YCSB's "latest")."""

    def __init__(self, items: int, rng: random.Random) -> None:
        self.zipf = Zipfian(items, rng)

    def next(self, items: int) -> int:
        return items - 1 - self.zipf.next(items)
