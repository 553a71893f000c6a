<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * The policy, once for every face: deadlines, failover over the addresses, backoff, and which
 * failures are retried. The same rules as the Python SDK's `_protocol.py`:
 *
 * - A call fails over to the next address on `unavailable` (or a hung address: an attempt
 *   that timed out before the caller's budget did) and, after a full round, backs off
 *   (0.2 s, 0.4 s, ... at most 2 s), all within the caller's deadline; then Unavailable.
 * - An Acquire always carries a request id, so a retry gets the same lease back, never a
 *   second grant; its `wait` shrinks on each retry so the whole call ends by its deadline.
 * - Every other failure maps to its exception at once (CoordinatorException::fromConnect).
 *
 * @internal
 */
final class Protocol
{
    private int $current = 0;

    public function __construct(private readonly HttpTransport $transport)
    {
    }

    /** Monotonic seconds (hrtime): immune to wall-clock steps. */
    public static function now(): float
    {
        return hrtime(true) / 1e9;
    }

    /**
     * One call, failing over until `deadline` (on the now() clock). With `waitUntil`, the
     * request is an Acquire whose `wait` is recomputed per attempt.
     *
     * @param array<string, mixed> $request
     * @return array<string, mixed>
     */
    public function call(string $method, array $request, float $deadline, ?float $waitUntil = null): array
    {
        $count = $this->transport->count();
        $tried = 0;
        $last = 'no attempt';
        while (true) {
            $left = $deadline - self::now();
            if ($left <= 0) {
                throw new Unavailable('unavailable', "{$method}: no coordinator answered in time ({$last})");
            }
            $waiting = 0.0;
            if ($waitUntil !== null) {
                $waiting = max($waitUntil - self::now(), 0.0);
                $request['wait'] = Wire::duration($waiting);
            }
            // With several addresses a hung one must not eat the whole budget: an attempt gets
            // half of what is left (a queued Acquire needs its whole wait, though).
            $attempt = ($count === 1 || $waiting > 0) ? $left : max($left / 2, min($left, 1.0));
            try {
                return $this->transport->call($this->current, $method, $request, $attempt);
            } catch (RpcFailure $failure) {
                $hung = $failure->connectCode === 'deadline_exceeded' && $attempt < $left;
                if ($failure->connectCode !== 'unavailable' && !$hung) {
                    throw CoordinatorException::fromConnect($failure->connectCode, $failure->details);
                }
                $last = $failure->details;
            }
            $tried++;
            $this->current = ($this->current + 1) % $count;
            if ($tried % $count === 0) { // every address failed once: back off, within budget
                $pause = min(0.1 * 2 ** intdiv($tried, $count), 2.0, $deadline - self::now());
                if ($pause > 0) {
                    usleep((int) ($pause * 1e6));
                }
            }
        }
    }

    /**
     * The most new request ids one acquisition makes after `aborted` answers: each normally
     * costs a queued lease's TTL, so the caller's `wait` ends first; this only bounds a
     * misbehaving server.
     */
    public const MAX_REQUEST_IDS = 20;

    /**
     * Acquire: the lease (proto3 JSON) or ThreadBusy.
     *
     * `aborted` ("the queued lease ... expired while waiting", or its place taken over) ends
     * that request id's attempt without a grant; it happens when the replica that kept the
     * queued lease alive paused or died. For a request id the client made up
     * (`$ownRequestId`) the caller never sees it: the old id is cleaned up (`abandon`, in case
     * another attempt of it is still alive) and the client queues again with a new one,
     * within what is left of the caller's `wait`; if the wait ran out meanwhile, it tries
     * once more (wait 0), so the caller gets a grant or ThreadBusy, the answers a `wait`
     * promises. `$request` is updated to the request last sent: the one to clean up if no
     * answer comes.
     *
     * A grant that arrives after its lease may have lapsed (the answer came later than the
     * coordinator's `validFor` allows: this process was paused, the network slow) is never
     * handed out: it is released, and the client acquires again as after `aborted`, because
     * its fencing token may already be older than a later holder's; with the caller's own
     * request id it throws Conflict (`aborted`). `$expires` is set to when the grant lapses at
     * the earliest (sent + validFor, on the now() clock), or null from a coordinator without
     * validFor.
     *
     * @param array<string, mixed> $request an AcquireRequest without `wait`
     * @return array<string, mixed>
     */
    public function acquire(array &$request, float $wait, float $callTimeout, bool $ownRequestId = false,
                            ?float &$expires = null): array
    {
        $waitUntil = self::now() + $wait;
        for ($renewed = 0; ; $renewed++) {
            $sent = self::now();
            try {
                $response = $this->call('Acquire', $request, max($waitUntil, $sent) + $callTimeout, $waitUntil);
            } catch (Conflict $conflict) {
                // Only an attempt that queued (sent within the wait) is re-sent: a try-once after
                // the wait cannot have lost a queued lease, so its ABORTED is not ours to hide.
                if (!$ownRequestId || $conflict->connectCode !== 'aborted' || $sent >= $waitUntil
                    || $renewed >= self::MAX_REQUEST_IDS) {
                    throw $conflict;
                }
                $this->abandon($request, $callTimeout);
                $request['requestId'] = bin2hex(random_bytes(16));
                continue;
            }
            if (!isset($response['lease']) || !is_array($response['lease'])) {
                $busy = isset($response['busy']) && is_array($response['busy']) ? $response['busy'] : [];
                throw Wire::busy((string) $request['key'], $busy);
            }
            $lease = $response['lease'];
            $expires = isset($lease['validFor']) ? $sent + Wire::seconds($lease['validFor']) : null;
            if ($expires === null || self::now() < $expires - Expiry::marginOf(Wire::seconds($lease['ttl'] ?? '0s'))) {
                return $lease;
            }
            try { // best effort: a lease not released lapses by itself
                $this->release((string) ($lease['leaseToken'] ?? ''), $callTimeout);
            } catch (ThreadlockException) {
            }
            if (!$ownRequestId || $renewed >= self::MAX_REQUEST_IDS) {
                $key = (string) $request['key'];
                throw new Conflict('aborted', "the grant of {$key} arrived after its lease may have lapsed "
                    . '(this process or the network was too slow); it was released: acquire again with a new request_id');
            }
            $request['requestId'] = bin2hex(random_bytes(16));
        }
    }

    /**
     * After an Acquire that got no answer, leave no lock behind: the same request id,
     * try-once, returns the grant if one landed; release it. Only for a request id the client
     * made up (nobody else retries it). Best effort and bounded.
     *
     * @param array<string, mixed> $request the unanswered AcquireRequest
     */
    public function abandon(array $request, float $timeout): void
    {
        $deadline = self::now() + $timeout;
        unset($request['wait']); // try once: only reports, never queues
        try {
            $response = $this->call('Acquire', $request, $deadline);
            if (isset($response['lease']['leaseToken'])) {
                $this->release((string) $response['lease']['leaseToken'], max($deadline - self::now(), 0.5));
            }
        } catch (ThreadlockException) {
            // the lease, if any, lapses after its TTL
        }
    }

    /** True: released now; false: released before; null: the token holds nothing (a loss). */
    public function release(string $token, float $timeout): ?bool
    {
        try {
            $response = $this->call('Release', ['leaseToken' => $token], self::now() + $timeout);
        } catch (NotFound) {
            return null;
        }
        return (bool) ($response['released'] ?? false);
    }

    /**
     * Renew a lease (`leaseToken`) or a session (`sessionId`); the TTL in force.
     *
     * @param array<string, mixed> $request a KeepAliveRequest
     */
    public function keepAlive(array $request, float $deadline): float
    {
        $response = $this->call('KeepAlive', $request, $deadline);
        return Wire::seconds($response['ttl'] ?? '0s');
    }

    /**
     * Renew `state` now. Refused (not_found) or not through before its last chance: lost, and
     * LeaseLost is thrown. Any other failure while time is left: that exception (retry later).
     *
     * @param array<string, mixed> $request a KeepAliveRequest
     * @throws LeaseLost|CoordinatorException
     */
    public function renew(Expiry $state, array $request, float $callTimeout, bool $own = true): void
    {
        $state->check();
        $sent = self::now();
        try {
            $ttl = $this->keepAlive($request, min($state->lastChance(), $sent + $callTimeout));
        } catch (NotFound $refused) {
            $state->lose("the coordinator refused to renew it ({$refused->details})");
            $state->check();
            throw $refused; // unreachable: check() threw
        } catch (CoordinatorException $failed) {
            if (self::now() >= $state->lastChance()) {
                $state->lose("no renewal got through before its TTL lapsed ({$failed->details})");
                $state->check();
            }
            throw $failed;
        }
        if ($own) {
            $state->renewed($sent, $ttl);
        }
    }

    public function close(): void
    {
        $this->transport->close();
    }
}
