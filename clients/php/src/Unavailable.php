<?php

declare(strict_types=1);

namespace Threadlock;

/** No coordinator answered within the call's deadline (every address was tried, with backoff). */
final class Unavailable extends CoordinatorException
{
}
