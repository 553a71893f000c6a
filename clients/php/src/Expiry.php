<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * What the client knows of one lease's life (a lock's own, or a session's) on the local
 * monotonic clock. Loss is sticky. PHP has no background renewer, so loss is found out when
 * the holder asks: at extend(), check() or release().
 *
 * @internal
 */
final class Expiry
{
    private ?string $lostReason = null;

    /** @param float $expires now() when the lease lapses unless renewed (a conservative guess) */
    public function __construct(
        public readonly string $key,
        public readonly int $fencingToken,
        public float $ttl,
        public float $expires,
        private readonly ?Expiry $parent = null,
    ) {
    }

    /**
     * The state of a fresh grant. `$expires`: from the coordinator's validFor (see
     * Protocol::acquire), skew-free and right even for a late answer; at most a TTL from now.
     * Without it (an older coordinator), the server's expiresAt is read against our wall clock
     * and clamped to [ttl/2, ttl], so that clock skew can neither declare it lost at once nor
     * let it look longer than a TTL (a queued lease is renewed every ttl/3 by the coordinator).
     */
    public static function ofGrant(string $key, int $fencingToken, float $ttl, mixed $expiresAt, ?Expiry $parent,
                                   ?float $expires = null): self
    {
        if ($expires === null) {
            $at = Wire::time($expiresAt);
            $left = $at === null ? $ttl : (float) $at->format('U.u') - microtime(true);
            $expires = Protocol::now() + min(max($left, $ttl / 2), $ttl);
        }
        return new self($key, $fencingToken, $ttl, min($expires, Protocol::now() + $ttl), $parent);
    }

    /** Declared lost this long before the guessed expiry: stop before others may start. */
    public function margin(): float
    {
        return self::marginOf($this->ttl);
    }

    /** A lease of `ttl` seconds is declared lost this long before its guessed expiry. */
    public static function marginOf(float $ttl): float
    {
        return min(1.0, $ttl / 10);
    }

    /** Renewed: counted from when the request left, which is conservative. */
    public function renewed(float $sent, float $ttl): void
    {
        if ($ttl > 0) {
            $this->ttl = $ttl;
        }
        $this->expires = $sent + $this->ttl;
    }

    /** When a renewal must have got through (deadline for KeepAlive). */
    public function lastChance(): float
    {
        return $this->expires - $this->margin();
    }

    public function reason(): ?string
    {
        if ($this->lostReason === null && $this->parent !== null) {
            $parent = $this->parent->reason();
            if ($parent !== null) {
                $this->lose("its session was lost: {$parent}");
            }
        } elseif ($this->lostReason === null && $this->parent === null && Protocol::now() >= $this->lastChance()) {
            $this->lose('it was not renewed in time (its TTL lapsed since the last renewal)');
        }
        return $this->lostReason;
    }

    public function lose(string $reason): void
    {
        $this->lostReason ??= $reason;
    }

    /** @throws LeaseLost */
    public function check(): void
    {
        $reason = $this->reason();
        if ($reason !== null) {
            throw new LeaseLost($this->key, $this->fencingToken, $reason);
        }
    }
}
