<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * Root of every exception the client throws: catch this to catch them all.
 *
 *   ThreadlockException
 *   ├── ThreadBusy          the key is held by someone else (holder, message, waiters)
 *   ├── LeaseLost           a lease you held ended: renewal refused, or its TTL lapsed
 *   └── CoordinatorException  a coordinator call failed (->connectCode, ->details)
 *       ├── InvalidArgument   a request field is malformed (->field names it)
 *       ├── NotFound          a lease token or session that does not exist (any more)
 *       ├── Conflict          a request id reused (failed_precondition) or superseded (aborted)
 *       └── Unavailable       no coordinator answered in time
 *
 * Arguments refused before any call raise PHP's own \InvalidArgumentException (like Python's
 * ValueError): those are programming errors, not coordinator answers.
 */
class ThreadlockException extends \RuntimeException
{
}
