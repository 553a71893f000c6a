<?php

declare(strict_types=1);

namespace Threadlock\Tests\Client;

use PHPUnit\Framework\TestCase;
use Threadlock\LeaseLost;
use Threadlock\LockClient;
use Threadlock\ThreadBusy;
use Threadlock\Unavailable;
use Threadlock\Tests\Support\Child;
use Threadlock\Tests\Support\Env;

/** Explicit renewal, loss detection, request ids, failover and an unreachable coordinator. */
final class LeaseTest extends TestCase
{
    private function client(string $owner = 'php-lease'): LockClient
    {
        return new LockClient([Env::address()], owner: $owner);
    }

    public function testExtendKeepsALeaseBeyondThreeTtls(): void
    {
        $locks = $this->client();
        $key = Env::key('extend');
        $lease = $locks->acquire($key, ttl: 2);
        $until = microtime(true) + 6.5; // more than 3 x TTL
        while (microtime(true) < $until) {
            usleep(600_000); // every ~ttl/3
            $lease->extend();
            $lease->check();
        }
        $this->assertFalse($lease->isLost());
        try {
            $this->client('other')->acquire($key, ttl: 2);
            $this->fail('the renewed lease was taken');
        } catch (ThreadBusy $busy) {
            $this->assertSame('php-lease', $busy->holder);
        }
        $this->assertTrue($lease->release());
    }

    public function testCheckReportsTheLossWhenTheTtlLapsedWithoutRenewal(): void
    {
        $lease = $this->client()->acquire(Env::key('lapse'), ttl: 2);
        $lease->check();
        usleep(2_000_000); // the local clock alone says: TTL (minus a margin) since the grant
        try {
            $lease->check();
            $this->fail('check() missed a lapsed TTL');
        } catch (LeaseLost $lost) {
            $this->assertSame($lease->fencingToken, $lost->fencingToken);
            $this->assertStringContainsString('TTL', $lost->reason);
        }
        $this->expectException(LeaseLost::class); // and extend() will not revive it
        $lease->extend();
    }

    public function testExtendRefusedWhenTheTokenWasReleasedBehindItsBack(): void
    {
        $key = Env::key('stolen');
        $lease = $this->client()->acquire($key, ttl: 30);
        [$status] = Env::connect('Release', ['leaseToken' => $lease->leaseToken]); // someone else
        $this->assertSame(200, $status);
        $lease->check(); // the local clock cannot know yet
        try {
            $lease->extend();
            $this->fail('extend() of a released token succeeded');
        } catch (LeaseLost $lost) {
            $this->assertStringContainsString('refused', $lost->reason);
        }
        $this->assertTrue($lease->isLost());
        $this->expectException(LeaseLost::class); // sticky: every later checkpoint says so
        $lease->check();
    }

    public function testAnAcquireRetriedWithItsRequestIdGetsTheSameLease(): void
    {
        $locks = $this->client();
        $key = Env::key('request-id');
        $id = bin2hex(random_bytes(8));
        $first = $locks->acquire($key, ttl: 10, requestId: $id);
        $again = $locks->acquire($key, ttl: 10, requestId: $id); // e.g. after a lost answer
        $this->assertSame($first->fencingToken, $again->fencingToken);
        $this->assertSame($first->leaseToken, $again->leaseToken);
        $this->assertTrue($first->release());
        $this->assertFalse($again->release());
    }

    public function testFailoverSkipsADeadAddress(): void
    {
        $locks = new LockClient([Env::deadAddress(), Env::address()], owner: 'failover', callTimeout: 10);
        $key = Env::key('failover');
        $lease = $locks->acquire($key, ttl: 10);
        $lease->extend();
        $this->assertSame('failover', $locks->status(key: $key)[0]->holder?->owner);
        $this->assertTrue($lease->release());
    }

    public function testAnUnreachableCoordinatorIsUnavailableWithinTheDeadline(): void
    {
        $locks = new LockClient([Env::deadAddress(), Env::deadAddress()], callTimeout: 2, releaseTimeout: 1);
        $started = microtime(true);
        try {
            $locks->acquire(Env::key('down'), ttl: 10);
            $this->fail('acquired from nowhere');
        } catch (Unavailable $e) {
            $this->assertSame('unavailable', $e->connectCode);
        }
        // Bounded (2 s budget + 1 s cleanup), with a generous allowance for a busy machine.
        $this->assertLessThan(Env::BOUND, microtime(true) - $started);
    }

    /**
     * A proxy that forwards calls but loses the answers to requests carrying `field`.
     *
     * @return array{string, Child}
     */
    private function dropper(string $field): array
    {
        $address = Env::deadAddress();
        $child = new Child([__DIR__ . '/../bin/dropper.php', substr($address, 7), Env::address(), $field]);
        Env::eventually(fn () => @stream_socket_client('tcp://' . substr($address, 7)) !== false, 'the proxy to listen');
        return [$address, $child];
    }

    public function testALostAnswerIsRetriedWithTheSameRequestIdAndGetsTheSameLease(): void
    {
        // The first address grants but loses the answer; the retry on the next address, with
        // the same request id, must get that very lease, not ThreadBusy (its own first grant).
        [$proxy, $child] = $this->dropper('requestId');
        try {
            $locks = new LockClient([$proxy, Env::address()], owner: 'retrier');
            $key = Env::key('lost-answer');
            $lease = $locks->acquire($key, ttl: 30);
            $state = $locks->status(key: $key)[0];
            $this->assertSame($lease->fencingToken, $state->holder?->fencingToken);
            $this->assertTrue($lease->release());
            $this->assertSame([], $locks->status(key: $key)); // no second grant left behind
        } finally {
            $child->kill();
        }
    }

    public function testAnUnansweredAcquireLeavesNoLockBehind(): void
    {
        // Every queued attempt is granted but unanswered; the client gives up (Unavailable) and
        // cleans up: the same request id, try-once (no `wait`: answered), then Release.
        [$proxy, $child] = $this->dropper('wait');
        try {
            $key = Env::key('unanswered');
            $locks = new LockClient([$proxy], owner: 'impatient', callTimeout: 1.5, releaseTimeout: 10);
            try {
                $locks->acquire($key, ttl: 30, wait: 0.5);
                $this->fail('an answer got through the proxy');
            } catch (Unavailable) {
            }
            $this->assertSame([], $this->client()->status(key: $key));
        } finally {
            $child->kill();
        }
    }
}
