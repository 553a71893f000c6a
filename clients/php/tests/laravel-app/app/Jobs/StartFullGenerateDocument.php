<?php

namespace App\Jobs;

use App\OpenAi\OpenAiClient;
use App\OpenAi\OpenAiError;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Threadlock\Laravel\HoldsThreadLock;
use Threadlock\Laravel\ThreadLocked;

/**
 * The seed's StartFullGenerateDocument: every sub-section of a document on the document's ONE
 * thread (add a message, start a run, wait for it). Guarded, the whole job holds the thread
 * through ThreadLocked, extending the lease between sub-sections (a short TTL survives a long
 * job) and checking it right before each OpenAI write.
 */
class StartFullGenerateDocument implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, HoldsThreadLock;

    public function __construct(public string $threadId, public int $document, public int $sections = 10, public bool $guarded = true)
    {
    }

    public function middleware(): array
    {
        // A second click's job waits its turn at the coordinator instead of colliding.
        return $this->guarded ? [(new ThreadLocked($this->threadId))->waitUpTo(300)->ttl(5)] : [];
    }

    public function handle(): void
    {
        $openai = OpenAiClient::fromEnv();
        $outcome = ['ok' => 0, 'conflicts' => 0];
        for ($s = 1; $s <= $this->sections; $s++) {
            $lease = $this->guarded ? $this->threadLease() : null;
            $lease?->extend(); // renew between steps: TTL 5 s, the whole document takes longer
            $lease?->check();
            try {
                $openai->addMessage($this->threadId, "document {$this->document}: write sub-section {$s}");
                $run = $openai->createRun($this->threadId, ['fencing_token' => (string) ($lease?->fencingToken ?? 0)]);
                $openai->waitForRun($this->threadId, (string) $run['id']);
                $outcome['ok']++;
            } catch (OpenAiError $e) { // "Thread ... already has an active run", "Can't add messages ..."
                $outcome['conflicts']++;
            }
        }
        // For the command that ran it in this process (a queued job runs a copy of itself).
        app()->instance('document.outcome', $outcome);
    }
}
