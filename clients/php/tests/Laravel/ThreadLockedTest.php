<?php

declare(strict_types=1);

namespace Threadlock\Tests\Laravel;

use PHPUnit\Framework\TestCase;
use Threadlock\LockClient;
use Threadlock\Tests\Support\App;
use Threadlock\Tests\Support\Env;

/**
 * The ThreadLocked middleware in a real Laravel 8.83 app (Debian's php-laravel-framework), on
 * the sync queue and on the database queue (sqlite) with `artisan queue:work`.
 */
final class ThreadLockedTest extends TestCase
{
    private App $app;
    private LockClient $locks;

    protected function setUp(): void
    {
        $this->app = new App();
        $this->locks = new LockClient([Env::address()], owner: 'test-holder');
    }

    /** @param list<string> $args */
    private function ok(array $args): string
    {
        [$code, $out, $err] = $this->app->artisan($args);
        $this->assertSame(0, $code, "artisan " . implode(' ', $args) . ": {$out}\n{$err}");
        return $out;
    }

    public function testASyncJobRunsHoldingTheThreadAndReleasesIt(): void
    {
        $thread = Env::key('thread');
        $this->ok(['threadlock:probe', $thread, 'job-1', '--connection=sync']);
        $runs = $this->app->rows('runs');
        $this->assertCount(1, $runs);
        $this->assertSame('laravel-worker', $runs[0]['holder_seen']); // the coordinator saw the job hold it
        $this->assertSame(App::PREFIX . $thread, $runs[0]['lock_key']); // config('threadlock.prefix')
        $this->assertGreaterThan(0, (int) $runs[0]['fencing_token']);
        $this->assertSame([], $this->locks->status(key: App::PREFIX . $thread));
    }

    public function testAFailingJobStillReleasesTheThread(): void
    {
        $thread = Env::key('thread');
        [$code, $out, $err] = $this->app->artisan(['threadlock:probe', $thread, 'job-1', '--connection=sync', '--fail']);
        $this->assertNotSame(0, $code);
        $this->assertStringContainsString('failed on purpose', $out . $err);
        $this->assertCount(1, $this->app->rows('runs'));
        $this->assertSame([], $this->locks->status(key: App::PREFIX . $thread));

        // The same on the database queue with a real worker: the job lands in failed_jobs.
        $this->ok(['threadlock:probe', $thread, 'job-2', '--fail']);
        $this->ok(['queue:work', 'database', '--once', '--tries=1']);
        $this->assertCount(1, $this->app->rows('failed_jobs'));
        $this->assertCount(2, $this->app->rows('runs'));
        $this->assertSame([], $this->locks->status(key: App::PREFIX . $thread));
    }

    public function testABusyThreadSendsTheJobBackToTheQueueWithADelay(): void
    {
        $thread = Env::key('thread');
        $lease = $this->locks->acquire(App::PREFIX . $thread, ttl: 30);
        $this->ok(['threadlock:probe', $thread, 'job-1', '--release-after=2']);
        $before = time();
        // A release back counts as an attempt, as with WithoutOverlapping: allow a few tries.
        $this->ok(['queue:work', 'database', '--once', '--tries=3']);
        $this->assertSame([], $this->app->rows('runs'), 'the job ran although the thread was busy');
        $jobs = $this->app->rows('jobs');
        $this->assertCount(1, $jobs);
        $this->assertSame(1, (int) $jobs[0]['attempts']);
        $this->assertGreaterThanOrEqual($before + 1, (int) $jobs[0]['available_at']);
        $this->assertSame([], $this->app->rows('failed_jobs'));

        $lease->release();
        Env::eventually(fn () => time() >= (int) $jobs[0]['available_at'], 'the delay to pass');
        $this->ok(['queue:work', 'database', '--once', '--tries=3']);
        $runs = $this->app->rows('runs');
        $this->assertCount(1, $runs);
        $this->assertGreaterThan($lease->fencingToken, (int) $runs[0]['fencing_token']);
        $this->assertSame([], $this->app->rows('jobs'));
        $this->assertSame([], $this->locks->status(key: App::PREFIX . $thread));
    }

    public function testDontReleaseDropsTheJobWhileTheThreadIsBusy(): void
    {
        $thread = Env::key('thread');
        $lease = $this->locks->acquire(App::PREFIX . $thread, ttl: 30);
        $this->ok(['threadlock:probe', $thread, 'job-1', '--dont-release']);
        $this->ok(['queue:work', 'database', '--once']);
        $this->assertSame([], $this->app->rows('runs'));
        $this->assertSame([], $this->app->rows('jobs'));
        $this->assertSame([], $this->app->rows('failed_jobs'));
        $lease->release();
    }

    public function testWaitUpToQueuesAtTheCoordinatorUntilTheThreadIsFree(): void
    {
        $thread = Env::key('thread');
        $lease = $this->locks->acquire(App::PREFIX . $thread, ttl: 2); // never renewed: lapses in ~2 s
        $this->ok(['threadlock:probe', $thread, 'job-1', '--connection=sync', '--wait=25']);
        $runs = $this->app->rows('runs');
        $this->assertCount(1, $runs);
        $this->assertGreaterThan($lease->fencingToken, (int) $runs[0]['fencing_token']);
        $this->assertTrue($lease->isLost());
    }

    public function testWithoutACoordinatorTheJobFailsInsteadOfRunningUnguarded(): void
    {
        [$code, $out, $err] = $this->app->artisan(['threadlock:probe', Env::key('thread'), 'job-1', '--connection=sync'],
            env: ['THREADLOCK_HTTP_ADDRESS' => Env::deadAddress(), 'THREADLOCK_CALL_TIMEOUT' => '2', 'THREADLOCK_RELEASE_TIMEOUT' => '1']);
        $this->assertNotSame(0, $code);
        $this->assertStringContainsString('Unavailable', $out . $err);
        $this->assertSame([], $this->app->rows('runs'));
    }

    public function testVendorPublishCopiesTheConfig(): void
    {
        $published = __DIR__ . '/../laravel-app/config/threadlock.php';
        $this->assertFileDoesNotExist($published);
        try {
            $this->ok(['vendor:publish', '--tag=threadlock-config']);
            $this->assertFileEquals(__DIR__ . '/../../config/threadlock.php', $published);
        } finally {
            @unlink($published);
        }
    }
}
