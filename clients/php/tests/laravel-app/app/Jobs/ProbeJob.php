<?php

namespace App\Jobs;

use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Support\Facades\DB;
use Threadlock\Laravel\HoldsThreadLock;
use Threadlock\Laravel\ThreadLocked;
use Threadlock\LockClient;

/** A job behind ThreadLocked that records what it saw (its lease, the coordinator's holder). */
class ProbeJob implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, HoldsThreadLock;

    public function __construct(
        public string $threadId,
        public string $label,
        public ?int $releaseAfterSeconds = 1,
        public float $wait = 0.0,
        public float $sleep = 0.0,
        public bool $fail = false,
        public int $lockTtl = 30,
    ) {
    }

    public function middleware(): array
    {
        $locked = (new ThreadLocked($this->threadId))->ttl($this->lockTtl)->waitUpTo($this->wait);
        return [$this->releaseAfterSeconds === null ? $locked->dontRelease() : $locked->releaseAfter($this->releaseAfterSeconds)];
    }

    public function handle(LockClient $locks): void
    {
        $lease = $this->threadLease();
        $lease->check();
        $state = $locks->status(key: $lease->key)[0] ?? null;
        DB::table('runs')->insert(['label' => $this->label, 'thread' => $this->threadId, 'lock_key' => $lease->key,
            'fencing_token' => $lease->fencingToken, 'holder_seen' => $state?->holder?->owner ?? '', 'at' => microtime(true)]);
        usleep((int) ($this->sleep * 1e6));
        if ($this->fail) {
            throw new \RuntimeException("{$this->label} failed on purpose");
        }
    }
}
