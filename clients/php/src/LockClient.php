<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * Locks from one or several coordinators over their HTTP/JSON (Connect) face.
 *
 *     $locks = new LockClient(['http://threadlock:8080'], owner: 'worker-3');
 *     $lease = $locks->acquire('thread_abc', ttl: 300, wait: 60);
 *     try { ...; $lease->extend(); $lease->check(); ... } finally { $lease->release(); }
 *
 * `addresses`: base URLs (http:// or https://), tried in order on failover; default
 * $THREADLOCK_HTTP_ADDRESS. With `useSession: true` every lock lives under one session lease
 * of this client, renewed by any lease's extend() (or session()->extend()). For a coordinator
 * with auth, give one of `token:` (a JWT), `tokenFile:` (re-read when it changes) or `apiKey:`.
 */
final class LockClient
{
    public const VERSION = '0.1.0';

    public readonly string $owner;
    private readonly Protocol $protocol;
    private ?Session $session = null;

    /** @param list<string>|string|null $addresses */
    public function __construct(
        array|string|null $addresses = null,
        ?string $owner = null,
        ?Tls $tls = null,
        private readonly float $callTimeout = 10.0,
        private readonly float $releaseTimeout = 5.0,
        private readonly bool $useSession = false,
        private readonly float $sessionTtl = 30.0,
        ?string $token = null,
        ?string $tokenFile = null,
        ?string $apiKey = null,
    ) {
        $addresses ??= (string) (getenv('THREADLOCK_HTTP_ADDRESS') ?: 'http://127.0.0.1:8080');
        if (is_string($addresses)) {
            $addresses = explode(',', $addresses);
        }
        $found = array_values(array_filter(array_map('trim', $addresses), fn (string $a) => $a !== ''));
        if ($found === []) {
            throw new \InvalidArgumentException('addresses: give at least one coordinator URL (http://host:port)');
        }
        foreach ($found as $i => $address) {
            if (!preg_match('#^https?://#', $address)) {
                $found[$i] = ($tls !== null ? 'https://' : 'http://') . $address;
            }
        }
        foreach (['callTimeout' => $callTimeout, 'releaseTimeout' => $releaseTimeout, 'sessionTtl' => $sessionTtl] as $name => $value) {
            if (!($value > 0)) {
                throw new \InvalidArgumentException("{$name}: must be a positive number of seconds, got {$value}");
            }
        }
        $this->owner = $owner !== null && $owner !== '' ? $owner : (gethostname() . ':' . getmypid());
        // A coordinator with auth: one of token / tokenFile (re-read when it changes) / apiKey.
        $credential = Credential::fromOptions($token, $tokenFile, $apiKey);
        $this->protocol = new Protocol(new HttpTransport($found, $tls, $credential));
    }

    /**
     * Take `key`: try once (wait 0: ThreadBusy at once if held) or queue in FIFO order for up
     * to `wait` seconds. `requestId`: your idempotency key for a logical acquire you may retry
     * yourself; by default the client makes one, retries with it on failover, and cleans up a
     * grant whose answer it never got.
     *
     * @param array<string, string> $metadata shown by status(), e.g. ['job' => 'GenerateSection']
     * @throws ThreadBusy|Unavailable|InvalidArgument|ThreadlockException
     */
    public function acquire(string $key, float $ttl = 30.0, float $wait = 0.0, array $metadata = [],
                            ?string $requestId = null, ?string $owner = null): Lease
    {
        if ($key === '') {
            throw new \InvalidArgumentException('key: must not be empty');
        }
        if (!($ttl > 0)) {
            throw new \InvalidArgumentException("ttl: must be a positive number of seconds, got {$ttl}");
        }
        if (!($wait >= 0)) {
            throw new \InvalidArgumentException("wait: must be zero (fail fast) or positive seconds, got {$wait}");
        }
        for ($attempt = 0; ; $attempt++) {
            $session = $this->useSession ? $this->currentSession() : null;
            try {
                return $this->acquireOnce($key, $ttl, $wait, $metadata, $requestId, $owner, $session);
            } catch (NotFound $refused) {
                // Our session may have ended behind our back: confirm, then once more anew.
                if ($attempt === 0 && $session !== null && str_starts_with($refused->details, 'session_id')
                    && $this->sessionGone($session)) {
                    continue;
                }
                throw $refused;
            }
        }
    }

    /** @param array<string, string> $metadata */
    private function acquireOnce(string $key, float $ttl, float $wait, array $metadata, ?string $requestId,
                                 ?string $owner, ?Session $session): Lease
    {
        $request = ['key' => $key, 'owner' => $owner ?? $this->owner,
                    'requestId' => $requestId ?? bin2hex(random_bytes(16)), 'metadata' => (object) $metadata];
        if ($session !== null) {
            $request['sessionId'] = $session->id; // the lock lives on the session's TTL
        } else {
            $request['ttl'] = Wire::duration($ttl);
        }
        $expires = null;
        try {
            $granted = $this->protocol->acquire($request, $wait, $this->callTimeout, $requestId === null, $expires);
        } catch (\Throwable $failed) {
            // No answer (unavailable, or interrupted): a grant may have landed unseen.
            if ($requestId === null && ($failed instanceof Unavailable || !$failed instanceof ThreadlockException)) {
                $this->protocol->abandon($request, $this->releaseTimeout);
            }
            throw $failed;
        }
        $state = Expiry::ofGrant($key, Wire::int($granted['fencingToken'] ?? 0), Wire::seconds($granted['ttl'] ?? '0s') ?: $ttl,
            $granted['expiresAt'] ?? null, $session?->state(), $expires);
        return new Lease($this->protocol, $granted, $state, $session, $this->callTimeout, $this->releaseTimeout);
    }

    /** Whether the session really ended (asked with a renewal, which keeps it if it lives). */
    private function sessionGone(Session $session): bool
    {
        try {
            $session->extend();
        } catch (LeaseLost) {
            return true;
        } catch (ThreadlockException) {
            return false;
        }
        return false;
    }

    /**
     * Run `$work($lease)` holding `key`; the lock is released on every exit path (a failed
     * release never hides the work's own exception). LeaseLost after the work if the lease
     * ended under it (the work ran unprotected for a while: tell someone).
     *
     * @template T
     * @param callable(Lease): T $work
     * @param array<string, string> $metadata
     * @return T
     */
    public function withLock(string $key, callable $work, float $ttl = 30.0, float $wait = 0.0, array $metadata = []): mixed
    {
        $lease = $this->acquire($key, ttl: $ttl, wait: $wait, metadata: $metadata);
        try {
            $result = $work($lease);
        } catch (\Throwable $failed) {
            try {
                $lease->release();
            } catch (ThreadlockException) {
                // the work's exception matters more; the lease lapses after its TTL
            }
            throw $failed;
        }
        $lost = $lease->lostReason();
        $lease->release();
        $lost ??= $lease->lostReason();
        if ($lost !== null) {
            throw new LeaseLost($key, $lease->fencingToken, $lost);
        }
        return $result;
    }

    /**
     * Holders and waiters of `key`, or of every key starting with `prefix` (all pages).
     *
     * @return list<LockState>
     */
    public function status(?string $key = null, string $prefix = ''): array
    {
        $locks = [];
        $page = '';
        do {
            $request = ['pageSize' => 500, 'pageToken' => $page] + ($key !== null ? ['key' => $key] : ['prefix' => $prefix]);
            $response = $this->protocol->call('Status', $request, Protocol::now() + $this->callTimeout);
            foreach (is_array($response['locks'] ?? null) ? $response['locks'] : [] as $lock) {
                $locks[] = LockState::fromJson($lock);
            }
            $page = (string) ($response['nextPageToken'] ?? '');
        } while ($page !== '');
        return $locks;
    }

    /** The client's session (opened on first use) when `useSession` is on. */
    public function session(): Session
    {
        return $this->currentSession();
    }

    /** Close the session (its locks are freed at once) and the connections. */
    public function close(): void
    {
        $session = $this->session;
        $this->session = null;
        if ($session !== null) {
            try {
                $session->close($this->releaseTimeout);
            } catch (ThreadlockException) {
                // it expires after its TTL
            }
        }
        $this->protocol->close();
    }

    private function currentSession(): Session
    {
        if ($this->session === null || $this->session->isLost()) {
            $sent = Protocol::now();
            $response = $this->protocol->call('OpenSession', ['owner' => $this->owner, 'ttl' => Wire::duration($this->sessionTtl)],
                $sent + $this->callTimeout);
            $ttl = Wire::seconds($response['ttl'] ?? '0s') ?: $this->sessionTtl;
            $id = (string) ($response['sessionId'] ?? '');
            $this->session = new Session($this->protocol, $id, new Expiry("session of {$this->owner}", 0, $ttl, $sent + $ttl),
                $this->callTimeout);
        }
        return $this->session;
    }
}
