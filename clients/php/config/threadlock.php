<?php

// Published to config/threadlock.php by `php artisan vendor:publish --tag=threadlock-config`.
return [
    // The coordinator's HTTP/JSON face (coordinator flag --http-listen), tried in order on failover.
    'addresses' => array_values(array_filter(explode(',', (string) env('THREADLOCK_HTTP_ADDRESS', 'http://127.0.0.1:8080')))),

    // Who holds a lock, as `threadlock status` shows it; default host:pid.
    'owner' => env('THREADLOCK_OWNER'),

    // Default lease TTL (seconds) for ThreadLocked. Keep it >= the job's $timeout, or call
    // $this->threadLease()->extend() at least every ttl/3 inside the job.
    'ttl' => (int) env('THREADLOCK_TTL', 300),

    // Key prefix for ThreadLocked, so different apps can share a coordinator.
    'prefix' => env('THREADLOCK_PREFIX', ''),

    // Per-call budget (seconds, besides an acquire's wait) and release budget.
    'call_timeout' => (float) env('THREADLOCK_CALL_TIMEOUT', 10),
    'release_timeout' => (float) env('THREADLOCK_RELEASE_TIMEOUT', 5),

    // HTTPS: the CA that verifies the coordinator; cert + key for mutual TLS (PEM paths).
    'tls' => [
        'ca' => env('THREADLOCK_TLS_CA'),
        'cert' => env('THREADLOCK_TLS_CERT'),
        'key' => env('THREADLOCK_TLS_KEY'),
    ],
];
