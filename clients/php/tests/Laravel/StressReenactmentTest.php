<?php

declare(strict_types=1);

namespace Threadlock\Tests\Laravel;

use PHPUnit\Framework\TestCase;
use Threadlock\Tests\Support\App;
use Threadlock\Tests\Support\Env;

/**
 * The seed's commands against the coordinator and the fake OpenAI, which refuses concurrent use
 * of a conversation (conversation_locked) or thread (active run) and counts each refusal.
 */
final class StressReenactmentTest extends TestCase
{
    private const WORKERS = 4;
    private const ITERATIONS = 5;

    /** @param list<string> $args @return array<string, mixed> */
    private function artisanReport(array $args): array
    {
        [$code, $out, $err] = (new App())->artisan($args, 300);
        $this->assertSame(0, $code, "{$out}\n{$err}");
        fwrite(STDERR, trim($out) . "\n"); // the figures, for the report
        return App::report($out);
    }

    public function testGuardedStressTestHasNoConflicts(): void
    {
        $r = $this->artisanReport(['debug:stress-test', '--workers=' . self::WORKERS, '--iterations=' . self::ITERATIONS, '--fake-seconds=0.2']);
        $this->assertSame(0, $r['conflicts']);
        $this->assertSame(1, $r['max_concurrent']);
        $this->assertSame(self::WORKERS * self::ITERATIONS, $r['calls']['ok']);
    }

    public function testUnguardedStressTestCollides(): void
    {
        $r = $this->artisanReport(['debug:stress-test', '--workers=' . self::WORKERS, '--iterations=' . self::ITERATIONS, '--fake-seconds=0.2', '--unguarded']);
        $this->assertGreaterThan(0, $r['conflicts']);
        $this->assertSame($r['conflicts'], $r['calls']['conflicts']); // the workers saw the 400s too
        $this->assertGreaterThan(1, $r['max_concurrent']);
    }

    public function testGuardedDocumentGenerationHasNoConflicts(): void
    {
        $r = $this->artisanReport(['debug:generate-document', '--documents=2', '--sections=10']);
        $this->assertSame(0, $r['conflicts']);
        $this->assertSame(20, $r['sub_sections']['ok']);
        $this->assertSame(1, $r['max_concurrent']);
    }

    public function testUnguardedDocumentGenerationCollides(): void
    {
        $r = $this->artisanReport(['debug:generate-document', '--documents=2', '--sections=10', '--unguarded']);
        $this->assertGreaterThan(0, $r['conflicts']);
        $this->assertGreaterThan(0, $r['sub_sections']['conflicts']);
    }
}
