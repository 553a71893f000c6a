<?php

namespace App\Console\Commands;

use App\OpenAi\OpenAiClient;
use App\OpenAi\OpenAiError;
use Illuminate\Console\Command;
use Threadlock\Lease;
use Threadlock\LockClient;

/** One worker of debug:stress-test: M iterations of acquire -> OpenAI call -> release. */
class StressWorker extends Command
{
    protected $signature = 'debug:stress-worker {conversation} {--worker-id=1} {--iterations=10} {--unguarded}
        {--fake-seconds=0.2}';
    protected $description = 'One stress worker (started by debug:stress-test)';

    public function handle(LockClient $locks): int
    {
        $openai = OpenAiClient::fromEnv();
        $conversation = (string) $this->argument('conversation');
        $worker = (int) $this->option('worker-id');
        $counts = ['ok' => 0, 'conflicts' => 0, 'errors' => 0];
        for ($i = 1; $i <= (int) $this->option('iterations'); $i++) {
            $call = function (?Lease $lease) use ($openai, $conversation, $worker, $i) {
                $lease?->check(); // right before the side effect
                return $openai->createResponse($conversation, "worker {$worker} iteration {$i}", [
                    'fake_seconds' => (string) $this->option('fake-seconds'),
                    'fencing_token' => (string) ($lease?->fencingToken ?? 0),
                ]);
            };
            try {
                if ($this->option('unguarded')) {
                    $call(null);
                } else {
                    $locks->withLock($conversation, $call, ttl: 30, wait: 300, metadata: ['worker' => (string) $worker]);
                }
                $counts['ok']++;
            } catch (OpenAiError $e) {
                $counts[$e->errorCode === 'conversation_locked' ? 'conflicts' : 'errors']++;
            }
        }
        $this->line(json_encode(['worker' => $worker] + $counts));
        return 0;
    }
}
