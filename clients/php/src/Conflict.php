<?php

declare(strict_types=1);

namespace Threadlock;

/** A request id reused for another owner or after its release (failed_precondition), or taken over by a retry (aborted). */
final class Conflict extends CoordinatorException
{
}
