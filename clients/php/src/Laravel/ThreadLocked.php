<?php

declare(strict_types=1);

namespace Threadlock\Laravel;

use Illuminate\Container\Container;
use Threadlock\Lease;
use Threadlock\LockClient;
use Threadlock\ThreadBusy;
use Threadlock\ThreadlockException;

/**
 * Job middleware in the shape of Laravel's WithoutOverlapping, with the lock held by the
 * threadlock coordinator, so every worker on every host agrees on who may use a thread:
 *
 *     public function middleware(): array
 *     {
 *         return [(new ThreadLocked($this->document->thread_id))->releaseAfter(10)->ttl(600)];
 *     }
 *
 * While the thread is busy the job goes back to the queue for `releaseAfter` seconds (or,
 * with waitUpTo(), queues at the coordinator first; dontRelease() drops it instead). The lock
 * is released when the job ends or throws. Unlike WithoutOverlapping the key is the thread
 * itself, not class + key: two different job classes on one thread collide just the same.
 */
class ThreadLocked
{
    /** Seconds before a job that found the thread busy is retried; null: do not release it. */
    public int|\DateTimeInterface|null $releaseAfter = 0;
    public float $waitUpTo = 0.0;
    public ?int $ttl = null;
    public ?string $prefix = null;

    public function __construct(public string $threadId, int|\DateTimeInterface|null $releaseAfter = 0, ?int $ttl = null)
    {
        $this->releaseAfter = $releaseAfter;
        $this->ttl = $ttl;
    }

    /** @param \Illuminate\Contracts\Queue\Job|object $job the job command instance */
    public function handle(mixed $job, callable $next): mixed
    {
        $locks = Container::getInstance()->make(LockClient::class);
        $config = Container::getInstance()->bound('config') ? Container::getInstance()->make('config') : null;
        $ttl = $this->ttl ?? (int) ($config?->get('threadlock.ttl') ?? 300);
        try {
            $lease = $locks->acquire($this->getLockKey(), ttl: $ttl, wait: $this->waitUpTo,
                metadata: ['job' => get_class($job)]);
        } catch (ThreadBusy $busy) {
            if ($this->releaseAfter !== null && method_exists($job, 'release')) {
                $job->release($this->releaseAfter);
            }
            return null;
        }
        return $this->runUnder($lease, $job, $next);
    }

    private function runUnder(Lease $lease, mixed $job, callable $next): mixed
    {
        if (method_exists($job, 'setThreadLease')) {
            $job->setThreadLease($lease);
        }
        try {
            return $next($job);
        } finally {
            if (method_exists($job, 'setThreadLease')) {
                $job->setThreadLease(null);
            }
            try {
                $lease->release();
            } catch (ThreadlockException $failed) {
                // Never hide the job's own outcome; the lease lapses after its TTL.
                if (function_exists('logger')) {
                    logger()->warning("threadlock: releasing {$lease->key} failed: {$failed->getMessage()}");
                }
            }
        }
    }

    /** Seconds before the job is tried again while the thread is busy. */
    public function releaseAfter(int|\DateTimeInterface $releaseAfter): static
    {
        $this->releaseAfter = $releaseAfter;
        return $this;
    }

    /** Drop the job (no retry) when the thread is busy. */
    public function dontRelease(): static
    {
        $this->releaseAfter = null;
        return $this;
    }

    /** Queue at the coordinator (FIFO) up to `seconds` before giving up on a busy thread. */
    public function waitUpTo(float $seconds): static
    {
        $this->waitUpTo = $seconds;
        return $this;
    }

    /** Lease TTL in seconds: >= the job's $timeout, or extend the lease every ttl/3. */
    public function ttl(int $seconds): static
    {
        $this->ttl = $seconds;
        return $this;
    }

    /** WithoutOverlapping's name for ttl(): the lock lapses this long after its last renewal. */
    public function expireAfter(int $seconds): static
    {
        return $this->ttl($seconds);
    }

    public function withPrefix(string $prefix): static
    {
        $this->prefix = $prefix;
        return $this;
    }

    public function getLockKey(): string
    {
        $config = Container::getInstance()->bound('config') ? Container::getInstance()->make('config') : null;
        return ($this->prefix ?? (string) ($config?->get('threadlock.prefix') ?? '')) . $this->threadId;
    }
}
