<?php

declare(strict_types=1);

namespace Threadlock\Laravel;

use Illuminate\Support\ServiceProvider;
use Threadlock\LockClient;
use Threadlock\Tls;

/** Binds one LockClient per worker process, built from config/threadlock.php. */
final class ThreadlockServiceProvider extends ServiceProvider
{
    public function register(): void
    {
        $this->mergeConfigFrom(__DIR__ . '/../../config/threadlock.php', 'threadlock');
        $this->app->singleton(LockClient::class, static function ($app): LockClient {
            /** @var array<string, mixed> $config */
            $config = $app['config']->get('threadlock', []);
            $tls = $config['tls'] ?? [];
            return new LockClient(
                $config['addresses'] ?? null,
                owner: isset($config['owner']) && $config['owner'] !== '' ? (string) $config['owner'] : null,
                tls: !empty($tls['ca']) || !empty($tls['cert'])
                    ? new Tls($tls['ca'] ?: null, $tls['cert'] ?: null, $tls['key'] ?: null) : null,
                callTimeout: (float) ($config['call_timeout'] ?? 10),
                releaseTimeout: (float) ($config['release_timeout'] ?? 5),
            );
        });
    }

    public function boot(): void
    {
        if (function_exists('config_path')) {
            $this->publishes([__DIR__ . '/../../config/threadlock.php' => config_path('threadlock.php')], 'threadlock-config');
        }
    }
}
