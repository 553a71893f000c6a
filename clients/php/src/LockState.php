<?php

declare(strict_types=1);

namespace Threadlock;

/** One key's holder (null while only waiters queue) and its waiters, in serving order. */
final class LockState
{
    /** @param list<Waiter> $waiters */
    public function __construct(
        public readonly string $key,
        public readonly ?Holder $holder,
        public readonly array $waiters,
    ) {
    }

    /** @param array<string, mixed> $json a LockState (proto3 JSON) */
    public static function fromJson(array $json): self
    {
        $h = isset($json['holder']) && is_array($json['holder']) ? $json['holder'] : null;
        $holder = $h === null ? null : new Holder(
            (string) ($h['owner'] ?? ''),
            Wire::int($h['fencingToken'] ?? 0),
            Wire::time($h['acquiredAt'] ?? null),
            Wire::time($h['expiresAt'] ?? null),
            Wire::map($h['metadata'] ?? []),
        );
        $waiters = [];
        foreach (is_array($json['waiters'] ?? null) ? $json['waiters'] : [] as $w) {
            $waiters[] = new Waiter((string) ($w['owner'] ?? ''), Wire::int($w['position'] ?? 0),
                Wire::time($w['queuedAt'] ?? null), Wire::map($w['metadata'] ?? []));
        }
        return new self((string) ($json['key'] ?? ''), $holder, $waiters);
    }
}
