<?php

// A second worker for the FIFO tests: queue for a key, hold it briefly, release; prints JSON.
declare(strict_types=1);

require __DIR__ . '/../../autoload.php';

[, $address, $key, $owner, $wait] = $argv;
$locks = new Threadlock\LockClient([$address], owner: $owner);
try {
    $lease = $locks->acquire($key, ttl: 10, wait: (float) $wait);
    $granted = microtime(true);
    usleep(300_000);
    $lease->release();
    echo json_encode(['owner' => $owner, 'token' => $lease->fencingToken, 'granted' => $granted]), "\n";
} catch (Threadlock\ThreadBusy $busy) {
    echo json_encode(['owner' => $owner, 'busy' => $busy->getMessage()]), "\n";
}
