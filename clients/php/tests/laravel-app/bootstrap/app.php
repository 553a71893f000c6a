<?php

require_once '/usr/share/php/Illuminate/autoload.php'; // Debian's php-laravel-framework
require_once __DIR__ . '/../../../autoload.php';        // Threadlock\ (clients/php/src)

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'App\\')) {
        $file = __DIR__ . '/../app/' . str_replace('\\', '/', substr($class, 4)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

$app = new Illuminate\Foundation\Application(dirname(__DIR__));
// Storage (logs, cache) lives where the test says, so the tree stays clean.
$app->useStoragePath(getenv('APP_STORAGE') ?: sys_get_temp_dir() . '/threadlock-laravel-app');
foreach (['app', 'framework/cache', 'logs'] as $dir) {
    @mkdir($app->storagePath() . '/' . $dir, 0777, true);
}
$app->singleton(Illuminate\Contracts\Console\Kernel::class, App\Console\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, Illuminate\Foundation\Exceptions\Handler::class);

return $app;
