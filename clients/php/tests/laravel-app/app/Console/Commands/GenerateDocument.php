<?php

namespace App\Console\Commands;

use App\Jobs\StartFullGenerateDocument;
use App\OpenAi\OpenAiClient;
use Illuminate\Console\Command;
use Symfony\Component\Process\Process;

/**
 * The seed's "double click on Generate": D workers each run a StartFullGenerateDocument of 10
 * sub-sections on the same thread at once (each worker runs its job on the sync queue, so the
 * job's middleware applies as on any queue). Prints one JSON line with the fake's conflicts.
 */
class GenerateDocument extends Command
{
    protected $signature = 'debug:generate-document {thread? : a new thread if omitted} {--documents=2}
        {--sections=10} {--unguarded} {--document=0 : internal: run this one document here}';
    protected $description = 'Generate documents of N sub-sections in one thread concurrently, guarded or not';

    public function handle(): int
    {
        $openai = OpenAiClient::fromEnv();
        if ((int) $this->option('document') > 0) {
            $job = new StartFullGenerateDocument((string) $this->argument('thread'), (int) $this->option('document'),
                (int) $this->option('sections'), !$this->option('unguarded'));
            dispatch($job->onConnection('sync'));
            $this->line(json_encode(app('document.outcome')));
            return 0;
        }
        $thread = (string) ($this->argument('thread') ?: $openai->createThread()['id']);
        $before = $openai->fakeStats();
        $workers = [];
        for ($d = 1; $d <= (int) $this->option('documents'); $d++) {
            $args = [PHP_BINARY, base_path('artisan'), 'debug:generate-document', $thread, "--document={$d}",
                '--sections=' . (int) $this->option('sections')];
            if ($this->option('unguarded')) {
                $args[] = '--unguarded';
            }
            $workers[$d] = new Process($args, null, null, null, 600);
            $workers[$d]->start();
        }
        $sections = ['ok' => 0, 'conflicts' => 0];
        $failed = 0;
        foreach ($workers as $d => $process) {
            $process->wait();
            $line = json_decode(trim($process->getOutput()), true);
            if ($process->getExitCode() !== 0 || !is_array($line)) {
                $failed++;
                $this->getOutput()->getErrorStyle()->writeln("document {$d} failed: " . $process->getErrorOutput() . $process->getOutput());
                continue;
            }
            $sections['ok'] += (int) $line['ok'];
            $sections['conflicts'] += (int) $line['conflicts'];
        }
        $after = $openai->fakeStats();
        $conflicts = fn (array $s) => $s['conflicts']['thread_active_run'] + $s['conflicts']['message_during_run'];
        $this->line(json_encode([
            'mode' => $this->option('unguarded') ? 'unguarded' : 'guarded', 'thread' => $thread,
            'documents' => (int) $this->option('documents'), 'sections' => (int) $this->option('sections'),
            'conflicts' => $conflicts($after) - $conflicts($before),
            'max_concurrent' => $after['max_concurrent']['threads'][$thread] ?? 0,
            'sub_sections' => $sections, 'failed_workers' => $failed,
        ]));
        return $failed === 0 ? 0 : 1;
    }
}
