<?php

declare(strict_types=1);

// A PSR-4 autoloader for Threadlock\ without Composer (tests, the conformance adapter and the
// stress scripts run where Packagist may not be reachable). With Composer, use vendor/autoload.php.
spl_autoload_register(static function (string $class): void {
    $roots = ['Threadlock\\Tests\\' => __DIR__ . '/tests/', 'Threadlock\\' => __DIR__ . '/src/'];
    foreach ($roots as $prefix => $dir) {
        if (str_starts_with($class, $prefix)) {
            $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require $file;
            }
            return;
        }
    }
});
