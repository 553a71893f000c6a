<?php

declare(strict_types=1);

namespace Threadlock;

/** A caller queued for a key; position 1 is next in line. */
final class Waiter
{
    /** @param array<string, string> $metadata */
    public function __construct(
        public readonly string $owner,
        public readonly int $position,
        public readonly ?\DateTimeImmutable $queuedAt,
        public readonly array $metadata,
    ) {
    }
}
