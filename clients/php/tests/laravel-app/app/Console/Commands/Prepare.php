<?php

namespace App\Console\Commands;

use Illuminate\Console\Command;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\Schema;

/** Creates the database queue's tables (what queue:table + migrate would) and a `runs` log. */
class Prepare extends Command
{
    protected $signature = 'threadlock:prepare';
    protected $description = 'Create the jobs, failed_jobs and runs tables';

    public function handle(): int
    {
        Schema::dropIfExists('jobs');
        Schema::create('jobs', function (Blueprint $table) {
            $table->bigIncrements('id');
            $table->string('queue')->index();
            $table->longText('payload');
            $table->unsignedTinyInteger('attempts');
            $table->unsignedInteger('reserved_at')->nullable();
            $table->unsignedInteger('available_at');
            $table->unsignedInteger('created_at');
        });
        Schema::dropIfExists('failed_jobs');
        Schema::create('failed_jobs', function (Blueprint $table) {
            $table->id();
            $table->string('uuid')->unique();
            $table->text('connection');
            $table->text('queue');
            $table->longText('payload');
            $table->longText('exception');
            $table->timestamp('failed_at')->useCurrent();
        });
        Schema::dropIfExists('runs');
        Schema::create('runs', function (Blueprint $table) {
            $table->id();
            $table->string('label');
            $table->string('thread');
            $table->string('lock_key');
            $table->unsignedBigInteger('fencing_token');
            $table->string('holder_seen');
            $table->double('at');
        });
        return 0;
    }
}
