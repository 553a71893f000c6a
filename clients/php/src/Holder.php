<?php

declare(strict_types=1);

namespace Threadlock;

/** Who holds a key, since and until when, with which fencing token and annotations. */
final class Holder
{
    /** @param array<string, string> $metadata */
    public function __construct(
        public readonly string $owner,
        public readonly int $fencingToken,
        public readonly ?\DateTimeImmutable $acquiredAt,
        public readonly ?\DateTimeImmutable $expiresAt,
        public readonly array $metadata,
    ) {
    }
}
