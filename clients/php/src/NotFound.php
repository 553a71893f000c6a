<?php

declare(strict_types=1);

namespace Threadlock;

/** A lease token or session that does not exist (any more): it expired or was released. */
final class NotFound extends CoordinatorException
{
}
