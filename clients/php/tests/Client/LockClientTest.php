<?php

declare(strict_types=1);

namespace Threadlock\Tests\Client;

use PHPUnit\Framework\TestCase;
use Threadlock\InvalidArgument;
use Threadlock\LockClient;
use Threadlock\ThreadBusy;
use Threadlock\ThreadlockException;
use Threadlock\Tests\Support\Child;
use Threadlock\Tests\Support\Env;

/** Grants, busy, queueing, release, status and input errors against the real coordinator. */
final class LockClientTest extends TestCase
{
    private function client(string $owner = 'php-test'): LockClient
    {
        return new LockClient([Env::address()], owner: $owner, callTimeout: 10);
    }

    public function testGrantCarriesAnIncreasingFencingToken(): void
    {
        $locks = $this->client();
        $key = Env::key('grant');
        $first = $locks->acquire($key, ttl: 10);
        $this->assertSame($key, $first->key);
        $this->assertSame('php-test', $first->owner);
        $this->assertIsInt($first->fencingToken);
        $this->assertGreaterThan(0, $first->fencingToken);
        $this->assertTrue($first->release());
        $second = $locks->acquire($key, ttl: 10);
        $this->assertGreaterThan($first->fencingToken, $second->fencingToken);
        $second->release();
    }

    public function testBusyNamesTheHolderAndCarriesTheCoordinatorsMessage(): void
    {
        $key = Env::key('busy');
        $lease = $this->client('worker-3')->acquire($key, ttl: 10);
        try {
            $this->client('worker-4')->acquire($key, ttl: 10);
            $this->fail('a held key was granted twice');
        } catch (ThreadBusy $busy) {
            $this->assertSame('worker-3', $busy->holder);
            $this->assertSame($key, $busy->key);
            $this->assertStringContainsString($key, $busy->getMessage());
            $this->assertStringContainsString('worker-3', $busy->getMessage());
            $this->assertSame($lease->fencingToken, $busy->holderFencingToken);
            $this->assertSame(0, $busy->waiters);
        } finally {
            $lease->release();
        }
    }

    public function testWaitersAreServedInArrivalOrder(): void
    {
        $key = Env::key('fifo');
        $locks = $this->client('holder');
        $lease = $locks->acquire($key, ttl: 10);
        $children = [];
        foreach (['first', 'second'] as $i => $owner) {
            $children[] = new Child([__DIR__ . '/../bin/waiter.php', Env::address(), $key, $owner, '25']);
            Env::eventually(fn () => count($locks->status(key: $key)[0]->waiters ?? []) === $i + 1, "{$owner} queued");
        }
        $queued = $locks->status(key: $key)[0];
        $this->assertSame(['first', 'second'], array_map(fn ($w) => $w->owner, $queued->waiters));
        $lease->release();
        $results = [];
        foreach ($children as $child) {
            [$code, $out, $err] = $child->finish();
            $this->assertSame(0, $code, $err);
            $results[] = json_decode($out, true);
        }
        $this->assertArrayHasKey('token', $results[0], json_encode($results));
        $this->assertArrayHasKey('token', $results[1], json_encode($results));
        $this->assertLessThan($results[1]['token'], $results[0]['token']);
        $this->assertLessThan($results[1]['granted'], $results[0]['granted']);
    }

    public function testAWaitThatRunsOutThrowsThreadBusy(): void
    {
        $key = Env::key('wait-timeout');
        $lease = $this->client('holder')->acquire($key, ttl: 10);
        try {
            $this->client('waiter')->acquire($key, ttl: 10, wait: 1);
            $this->fail('granted while held');
        } catch (ThreadBusy $busy) {
            $this->assertSame('holder', $busy->holder);
            $this->assertGreaterThan(0.5, $busy->waited);
        } finally {
            $lease->release();
        }
    }

    public function testReleaseIsIdempotent(): void
    {
        $locks = $this->client();
        $key = Env::key('release');
        $lease = $locks->acquire($key, ttl: 10);
        $this->assertTrue($lease->release());
        $this->assertFalse($lease->release());
        $this->assertFalse($lease->isLost());
        $this->assertSame([], $locks->status(key: $key));
        $locks->acquire($key, ttl: 10)->release(); // free again
    }

    public function testWithLockReleasesWhenTheWorkThrows(): void
    {
        $locks = $this->client();
        $key = Env::key('with-lock');
        $seen = $locks->withLock($key, fn ($lease) => $locks->status(key: $key)[0]->holder?->fencingToken === $lease->fencingToken, ttl: 10);
        $this->assertTrue($seen);
        try {
            $locks->withLock($key, function () {
                throw new \DomainException('the job failed');
            }, ttl: 10);
            $this->fail('the exception was swallowed');
        } catch (\DomainException $e) {
            $this->assertSame('the job failed', $e->getMessage());
        }
        $this->assertSame([], $locks->status(key: $key));
    }

    public function testStatusShowsHolderAnnotationsByKeyAndPrefix(): void
    {
        $locks = $this->client('annotator');
        $prefix = Env::key('status') . '/';
        $a = $locks->acquire("{$prefix}a", ttl: 10, metadata: ['job' => 'GenerateSection']);
        $b = $locks->acquire("{$prefix}b", ttl: 10);
        $a->annotate(['response_id' => 'resp_1']);
        $states = $locks->status(prefix: $prefix);
        $this->assertSame(["{$prefix}a", "{$prefix}b"], array_map(fn ($s) => $s->key, $states));
        $this->assertEquals(['job' => 'GenerateSection', 'response_id' => 'resp_1'], $states[0]->holder?->metadata);
        $this->assertSame('annotator', $states[1]->holder?->owner);
        $a->release();
        $b->release();
    }

    public function testBadInputIsInvalidArgumentNamingTheField(): void
    {
        $locks = $this->client();
        $cases = [
            'ttl' => fn () => $locks->acquire(Env::key('bad'), ttl: 0.5),
            'key' => fn () => $locks->acquire("bad\x01key", ttl: 10),
            'metadata' => fn () => $locks->acquire(Env::key('bad'), ttl: 10, metadata: array_fill_keys(range(1, 17), 'x')),
            'wait' => fn () => $locks->acquire(Env::key('bad'), ttl: 10, wait: 100000),
        ];
        foreach ($cases as $field => $call) {
            try {
                $call();
                $this->fail("{$field}: accepted");
            } catch (InvalidArgument $e) {
                $this->assertStringStartsWith($field, $e->field, $e->getMessage());
                $this->assertSame('invalid_argument', $e->connectCode);
            }
        }
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('ttl');
        $locks->acquire(Env::key('bad'), ttl: -1); // refused before any call
    }

    public function testSessionLocksAreFreedWhenTheClientCloses(): void
    {
        $key = Env::key('session');
        $locks = new LockClient([Env::address()], owner: 'session-owner', useSession: true, sessionTtl: 10);
        $lease = $locks->acquire($key);
        $this->assertNotSame('', $lease->sessionId);
        $lease->extend(); // renews the session
        $lease->check();
        $this->assertSame('session-owner', $this->client()->status(key: $key)[0]->holder?->owner);
        $locks->close();
        $this->assertSame([], $this->client()->status(key: $key));
    }

    public function testEveryExceptionSharesOneRoot(): void
    {
        try {
            $this->client('a')->acquire($key = Env::key('root'), ttl: 10);
            $this->client('b')->acquire($key, ttl: 10);
        } catch (ThreadlockException $e) {
            $this->assertInstanceOf(ThreadBusy::class, $e);
            return;
        }
        $this->fail('no exception');
    }

    public function testAddressesDefaultToTheEnvironment(): void
    {
        $saved = getenv('THREADLOCK_HTTP_ADDRESS');
        putenv('THREADLOCK_HTTP_ADDRESS=' . Env::deadAddress() . ',' . Env::address());
        try {
            $key = Env::key('env');
            $lease = (new LockClient(owner: 'from-env'))->acquire($key, ttl: 10);
            $this->assertSame('from-env', $this->client()->status(key: $key)[0]->holder?->owner);
            $lease->release();
        } finally {
            putenv($saved === false ? 'THREADLOCK_HTTP_ADDRESS' : "THREADLOCK_HTTP_ADDRESS={$saved}");
        }
    }

    public function testASessionEndedBehindItsBackIsReplacedAtTheNextAcquire(): void
    {
        $locks = new LockClient([Env::address()], owner: 'session-owner', useSession: true, sessionTtl: 10);
        $first = $locks->acquire(Env::key('session-a'));
        [$status] = Env::connect('CloseSession', ['sessionId' => $first->sessionId]);
        $this->assertSame(200, $status);
        $second = $locks->acquire(Env::key('session-b')); // refused for the old session: a new one
        $this->assertNotSame('', $second->sessionId);
        $this->assertNotSame($first->sessionId, $second->sessionId);
        $this->expectException(\Threadlock\LeaseLost::class);
        $first->check();
    }
}
