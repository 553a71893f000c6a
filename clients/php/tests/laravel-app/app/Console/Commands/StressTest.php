<?php

namespace App\Console\Commands;

use App\OpenAi\OpenAiClient;
use Illuminate\Console\Command;
use Symfony\Component\Process\Process;

/**
 * The seed's `php artisan debug:stress-test 7 --workers=5 --iterations=10`, re-enacted: N
 * worker processes, all on ONE conversation, each making M calls; guarded by threadlock (or
 * not, with --unguarded). Prints one JSON line: the fake OpenAI's conflict count for the run.
 */
class StressTest extends Command
{
    protected $signature = 'debug:stress-test {conversation? : conversation id; a new one if omitted}
        {--workers=5} {--iterations=10} {--unguarded} {--fake-seconds=0.2 : how long each OpenAI call takes}';
    protected $description = 'N processes x M calls on one conversation, guarded by threadlock or not';

    public function handle(): int
    {
        $openai = OpenAiClient::fromEnv();
        $conversation = (string) ($this->argument('conversation') ?: $openai->createConversation()['id']);
        $before = $openai->fakeStats();
        $workers = [];
        $started = microtime(true);
        for ($i = 1; $i <= (int) $this->option('workers'); $i++) {
            $args = [PHP_BINARY, base_path('artisan'), 'debug:stress-worker', $conversation, "--worker-id={$i}",
                '--iterations=' . (int) $this->option('iterations'), '--fake-seconds=' . $this->option('fake-seconds')];
            if ($this->option('unguarded')) {
                $args[] = '--unguarded';
            }
            $process = new Process($args, null, null, null, 600);
            $process->start(); // all at once, as in the seed
            $workers[$i] = $process;
        }
        $calls = ['ok' => 0, 'conflicts' => 0, 'errors' => 0];
        $failed = 0;
        foreach ($workers as $i => $process) {
            $process->wait();
            $line = json_decode(trim($process->getOutput()), true);
            if ($process->getExitCode() !== 0 || !is_array($line)) {
                $failed++;
                $this->getOutput()->getErrorStyle()->writeln("worker {$i} failed: " . $process->getErrorOutput());
                continue;
            }
            foreach ($calls as $k => $v) {
                $calls[$k] = $v + (int) $line[$k];
            }
        }
        $after = $openai->fakeStats();
        $this->line(json_encode([
            'mode' => $this->option('unguarded') ? 'unguarded' : 'guarded',
            'workers' => (int) $this->option('workers'), 'iterations' => (int) $this->option('iterations'),
            'conversation' => $conversation,
            // The fake's own count (it refuses overlapping calls with conversation_locked).
            'conflicts' => $after['conflicts']['conversation_locked'] - $before['conflicts']['conversation_locked'],
            'max_concurrent' => $after['max_concurrent']['conversations'][$conversation] ?? 0,
            'calls' => $calls, 'failed_workers' => $failed, 'seconds' => round(microtime(true) - $started, 2),
        ]));
        return $failed === 0 ? 0 : 1;
    }
}
