<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * What the transport throws when a call got no answer or an error answer: a Connect code and
 * message. Internal: the policy (Protocol) turns it into a CoordinatorException or retries it.
 *
 * @internal
 */
final class RpcFailure extends \Exception
{
    public function __construct(public readonly string $connectCode, public readonly string $details)
    {
        parent::__construct("{$connectCode}: {$details}");
    }
}
