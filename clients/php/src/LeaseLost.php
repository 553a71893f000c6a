<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * The lease on `key` ended while the code it protected ran. Stop that work: someone else may
 * hold the key now, with a higher fencing token than `fencingToken`.
 */
final class LeaseLost extends ThreadlockException
{
    public function __construct(
        public readonly string $key,
        public readonly int $fencingToken,
        public readonly string $reason,
    ) {
        parent::__construct("lost the lock on '{$key}' (fencing token {$fencingToken}): {$reason}");
    }
}
