<?php

declare(strict_types=1);

require __DIR__ . '/../autoload.php';

foreach (['THREADLOCK_TEST_HTTP_ADDRESS', 'THREADLOCK_TEST_BACKEND'] as $name) {
    if ((string) getenv($name) === '') {
        fwrite(STDERR, "{$name} is not set: run these tests through tests/test_php.py (pytest), which starts the coordinator\n");
        exit(2);
    }
}
