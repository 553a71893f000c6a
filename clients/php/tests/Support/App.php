<?php

declare(strict_types=1);

namespace Threadlock\Tests\Support;

/** The minimal Laravel app under tests/laravel-app, with a database and storage of its own. */
final class App
{
    /** The app's THREADLOCK_PREFIX: every thread key its jobs lock starts with it. */
    public const PREFIX = 'app1:';

    public readonly string $database;
    private readonly string $storage;

    public function __construct()
    {
        $dir = sys_get_temp_dir() . '/threadlock-php-' . bin2hex(random_bytes(4));
        mkdir($dir);
        $this->database = "{$dir}/app.sqlite";
        touch($this->database);
        $this->storage = "{$dir}/storage";
        [$code, $out, $err] = $this->artisan(['threadlock:prepare']);
        if ($code !== 0) {
            throw new \RuntimeException("threadlock:prepare failed: {$out} {$err}");
        }
    }

    /**
     * Run artisan to its end; [exit code, stdout, stderr].
     *
     * @param list<string> $args
     * @param array<string, string> $env overrides
     * @return array{int, string, string}
     */
    public function artisan(array $args, float $timeout = 120.0, array $env = []): array
    {
        return $this->start($args, $env)->finish($timeout);
    }

    /** @param list<string> $args @param array<string, string> $env */
    public function start(array $args, array $env = []): Child
    {
        return new Child(array_merge([__DIR__ . '/../laravel-app/artisan'], $args), $env + [
            'DB_DATABASE' => $this->database,
            'APP_STORAGE' => $this->storage,
            'THREADLOCK_HTTP_ADDRESS' => Env::address(),
            'THREADLOCK_OWNER' => 'laravel-worker',
            'THREADLOCK_PREFIX' => self::PREFIX,
            'OPENAI_BASE_URL' => Env::openAiBaseUrl(),
        ]);
    }

    /** @return list<array<string, mixed>> */
    public function rows(string $table): array
    {
        $pdo = new \PDO("sqlite:{$this->database}");
        $pdo->setAttribute(\PDO::ATTR_ERRMODE, \PDO::ERRMODE_EXCEPTION);
        return $pdo->query("SELECT * FROM {$table} ORDER BY id")->fetchAll(\PDO::FETCH_ASSOC);
    }

    /** The last stdout line of a debug:* command, decoded. @return array<string, mixed> */
    public static function report(string $out): array
    {
        $lines = array_values(array_filter(explode("\n", trim($out))));
        $json = json_decode((string) end($lines), true);
        if (!is_array($json)) {
            throw new \RuntimeException("no JSON report in: {$out}");
        }
        return $json;
    }
}
