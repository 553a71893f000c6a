<?php

namespace App\Console;

use Illuminate\Foundation\Console\Kernel as ConsoleKernel;

class Kernel extends ConsoleKernel
{
    protected $commands = [
        Commands\Prepare::class,
        Commands\DispatchProbe::class,
        Commands\StressTest::class,
        Commands\StressWorker::class,
        Commands\GenerateDocument::class,
    ];
}
