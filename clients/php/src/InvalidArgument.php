<?php

declare(strict_types=1);

namespace Threadlock;

/** A request field is malformed or out of range; `field` is the one the coordinator named. */
final class InvalidArgument extends CoordinatorException
{
    /** The field the coordinator named ("ttl: must be ..." -> "ttl"). */
    public readonly string $field;

    public function __construct(string $connectCode, string $details)
    {
        parent::__construct($connectCode, $details);
        $this->field = explode(':', $details, 2)[0];
    }
}
