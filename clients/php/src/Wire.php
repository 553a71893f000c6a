<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * The proto3 JSON mapping the Connect face speaks: durations as "1.500s", int64 as strings,
 * timestamps as RFC 3339, default values omitted.
 *
 * @internal
 */
final class Wire
{
    public static function duration(float $seconds): string
    {
        $seconds = max($seconds, 0.0);
        if (floor($seconds) === $seconds) {
            return sprintf('%ds', (int) $seconds);
        }
        return sprintf('%.3fs', ceil($seconds * 1000) / 1000);
    }

    public static function seconds(mixed $duration): float
    {
        return is_string($duration) ? (float) rtrim($duration, 's') : 0.0;
    }

    public static function int(mixed $value): int
    {
        return is_numeric($value) ? (int) $value : 0;
    }

    public static function time(mixed $value): ?\DateTimeImmutable
    {
        if (!is_string($value) || $value === '') {
            return null;
        }
        try {
            return new \DateTimeImmutable($value);
        } catch (\Exception) {
            return null;
        }
    }

    /** @return array<string, string> */
    public static function map(mixed $value): array
    {
        $out = [];
        foreach (is_array($value) ? $value : [] as $k => $v) {
            $out[(string) $k] = (string) $v;
        }
        return $out;
    }

    /** @param array<string, mixed> $busy */
    public static function busy(string $key, array $busy): ThreadBusy
    {
        $holder = isset($busy['holder']) && is_array($busy['holder']) ? $busy['holder'] : [];
        $message = isset($busy['message']) && is_string($busy['message']) && $busy['message'] !== ''
            ? $busy['message']
            : "{$key} is busy with another request. Please wait for it to finish and try again.";
        return new ThreadBusy(
            $key,
            $message,
            holder: (string) ($holder['owner'] ?? ''),
            waiters: self::int($busy['waiters'] ?? 0),
            holderFencingToken: self::int($holder['fencingToken'] ?? 0),
            holderSince: self::time($holder['acquiredAt'] ?? null),
            holderUntil: self::time($holder['expiresAt'] ?? null),
            metadata: self::map($holder['metadata'] ?? []),
            waited: self::seconds($busy['waited'] ?? '0s'),
        );
    }
}
