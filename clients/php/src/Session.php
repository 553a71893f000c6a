<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * One lease for the whole client process: any number of locks live under it and one
 * extend() renews them all. Opened by LockClient when `useSession: true`.
 */
final class Session
{
    /** @internal */
    public function __construct(
        private readonly Protocol $protocol,
        public readonly string $id,
        private readonly Expiry $state,
        private readonly float $callTimeout,
    ) {
    }

    /** @internal */
    public function state(): Expiry
    {
        return $this->state;
    }

    /** Renew the session (and every lock under it). @throws LeaseLost|CoordinatorException */
    public function extend(): void
    {
        $this->protocol->renew($this->state, ['sessionId' => $this->id], $this->callTimeout);
    }

    public function check(): void
    {
        $this->state->check();
    }

    public function isLost(): bool
    {
        return $this->state->reason() !== null;
    }

    /** End the session: every lock under it is freed at once. True if this call ended it. */
    public function close(float $timeout): bool
    {
        $this->state->lose('the client closed its session');
        $response = $this->protocol->call('CloseSession', ['sessionId' => $this->id], Protocol::now() + $timeout);
        return (bool) ($response['closed'] ?? false);
    }
}
