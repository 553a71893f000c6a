<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * A held lock. PHP workers have no background thread, so the holder renews it explicitly:
 * call extend() between steps (at least every ttl/3, or pick a TTL >= the job's timeout) and
 * check() right before every side effect; hand `fencingToken` to what you protect.
 */
final class Lease
{
    public readonly string $key;
    public readonly string $owner;
    /** Strictly increases with every grant of the key: pass it to the protected resource. */
    public readonly int $fencingToken;
    /** Opaque; releases the lock. Treat it as a secret. */
    public readonly string $leaseToken;
    /** "" unless the lock lives under the client's session. */
    public readonly string $sessionId;
    public readonly ?\DateTimeImmutable $acquiredAt;
    /** @var array<string, string> */
    public readonly array $metadata;
    private bool $released = false;

    /**
     * @internal
     * @param array<string, mixed> $lease the granted Lease (proto3 JSON)
     */
    public function __construct(
        private readonly Protocol $protocol,
        array $lease,
        private readonly Expiry $state,
        private readonly ?Session $session,
        private readonly float $callTimeout,
        private readonly float $releaseTimeout,
    ) {
        $this->key = (string) ($lease['key'] ?? '');
        $this->owner = (string) ($lease['owner'] ?? '');
        $this->fencingToken = Wire::int($lease['fencingToken'] ?? 0);
        $this->leaseToken = (string) ($lease['leaseToken'] ?? '');
        $this->sessionId = (string) ($lease['sessionId'] ?? '');
        $this->acquiredAt = Wire::time($lease['acquiredAt'] ?? null);
        $this->metadata = Wire::map($lease['metadata'] ?? []);
    }

    /**
     * Renew the lease now (under a session: renew the session). Throws LeaseLost when the
     * coordinator refuses (it expired or was released behind our back) or when no renewal got
     * through before the TTL lapsed; a transient failure with time left throws Unavailable.
     */
    public function extend(): void
    {
        $this->ensureHeld();
        if ($this->session !== null) {
            $this->session->extend();
            $this->state->check();
            return;
        }
        $this->protocol->renew($this->state, ['leaseToken' => $this->leaseToken], $this->callTimeout);
    }

    /**
     * A checkpoint before a side effect: LeaseLost if the lease ended, by what the coordinator
     * said or by the local clock (TTL since the last successful renewal, minus a margin).
     */
    public function check(): void
    {
        $this->state->check();
    }

    public function isLost(): bool
    {
        return $this->state->reason() !== null;
    }

    public function lostReason(): ?string
    {
        return $this->state->reason();
    }

    /** The TTL in force (seconds; the session's under a session): extend at least every ttl/3. */
    public function ttl(): float
    {
        return ($this->session?->state() ?? $this->state)->ttl;
    }

    /** Seconds until the lease lapses unless renewed (local estimate, margin not deducted). */
    public function expiresIn(): float
    {
        return max(($this->session?->state() ?? $this->state)->expires - Protocol::now(), 0.0);
    }

    /**
     * Merge annotations into the lock (Status shows them; "" deletes a key). Renews it too.
     *
     * @param array<string, string> $metadata
     */
    public function annotate(array $metadata): void
    {
        $this->ensureHeld();
        $this->protocol->renew($this->state, ['leaseToken' => $this->leaseToken, 'metadata' => (object) $metadata],
            $this->callTimeout, own: $this->session === null);
    }

    /**
     * Give the lock back (bounded by releaseTimeout). Idempotent: true if this call released
     * it; false if released before, or if the coordinator said the token held nothing any
     * more (then the lease is marked lost). If the release fails, the lease is marked lost
     * (it lapses after its TTL) and the exception thrown.
     */
    public function release(): bool
    {
        if ($this->released) {
            return false;
        }
        $this->released = true;
        try {
            $result = $this->protocol->release($this->leaseToken, $this->releaseTimeout);
        } catch (ThreadlockException $failed) {
            $this->state->lose("its release failed ({$failed->getMessage()}); it lapses after its TTL");
            throw $failed;
        }
        if ($result === null) {
            $this->state->lose('at release the coordinator said it no longer held the key (it expired or was released by someone else)');
        }
        return $result === true;
    }

    private function ensureHeld(): void
    {
        if ($this->released) {
            throw new LeaseLost($this->key, $this->fencingToken, 'it was released');
        }
        $this->state->check();
    }
}
