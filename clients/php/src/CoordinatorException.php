<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * A coordinator call failed. `connectCode` is the Connect error code ("not_found", ...),
 * `details` the coordinator's message. `fromConnect` is the one code -> exception map.
 */
class CoordinatorException extends ThreadlockException
{
    private const BY_CODE = [
        'invalid_argument' => InvalidArgument::class,
        'not_found' => NotFound::class,
        'failed_precondition' => Conflict::class,
        'aborted' => Conflict::class,
        'unavailable' => Unavailable::class,
        'deadline_exceeded' => Unavailable::class,
    ];

    public function __construct(public readonly string $connectCode, public readonly string $details)
    {
        parent::__construct("{$connectCode}: {$details}");
    }

    /** The exception for a failed call (the one mapping; everything else uses it). */
    public static function fromConnect(string $code, string $details): self
    {
        $class = self::BY_CODE[$code] ?? self::class;
        return new $class($code, $details !== '' ? $details : $code);
    }
}
