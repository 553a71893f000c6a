<?php

namespace App\Console\Commands;

use App\Jobs\ProbeJob;
use Illuminate\Console\Command;

class DispatchProbe extends Command
{
    protected $signature = 'threadlock:probe {thread} {label} {--connection=database} {--release-after=1}
        {--dont-release} {--wait=0} {--sleep=0} {--fail} {--ttl=30}';
    protected $description = 'Dispatch a ProbeJob behind ThreadLocked';

    public function handle(): int
    {
        ProbeJob::dispatch((string) $this->argument('thread'), (string) $this->argument('label'),
            $this->option('dont-release') ? null : (int) $this->option('release-after'),
            (float) $this->option('wait'), (float) $this->option('sleep'), (bool) $this->option('fail'),
            (int) $this->option('ttl'))->onConnection((string) $this->option('connection'));
        return 0;
    }
}
