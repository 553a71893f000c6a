<?php

declare(strict_types=1);

namespace Threadlock;

/** The key is held by someone else (and `wait`, if any, elapsed). `message` is fit for users. */
final class ThreadBusy extends ThreadlockException
{
    /** @param array<string, string> $metadata the holder's annotations */
    public function __construct(
        public readonly string $key,
        string $message,
        public readonly string $holder = '',
        public readonly int $waiters = 0,
        public readonly int $holderFencingToken = 0,
        public readonly ?\DateTimeImmutable $holderSince = null,
        public readonly ?\DateTimeImmutable $holderUntil = null,
        public readonly array $metadata = [],
        public readonly float $waited = 0.0,
    ) {
        parent::__construct($message);
    }
}
