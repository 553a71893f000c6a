<?php

declare(strict_types=1);

namespace Threadlock\Laravel;

use Threadlock\Lease;

/**
 * For jobs behind ThreadLocked: the middleware hands the job its lease, so a long job can
 * `$this->threadLease()->extend()` between steps, `->check()` before side effects and pass
 * `->fencingToken` to what it writes. The lease is set only while the job runs (never
 * serialized: dispatch happens before, and a released job's payload is pushed back as it was).
 */
trait HoldsThreadLock
{
    private ?Lease $threadLockLease = null;

    public function setThreadLease(?Lease $lease): void
    {
        $this->threadLockLease = $lease;
    }

    public function threadLease(): Lease
    {
        if ($this->threadLockLease === null) {
            throw new \LogicException(static::class . ' is not running under the ThreadLocked middleware');
        }
        return $this->threadLockLease;
    }

}
