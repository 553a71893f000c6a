<?php

declare(strict_types=1);

namespace Threadlock\Tests\Support;

/** What tests/test_php.py hands the suite, and small helpers shared by the tests. */
final class Env
{
    /** Generous bound for waiting on events: the machines are shared and noisy. */
    public const BOUND = 30.0;

    public static function address(): string
    {
        return (string) getenv('THREADLOCK_TEST_HTTP_ADDRESS');
    }

    public static function backend(): string
    {
        return (string) getenv('THREADLOCK_TEST_BACKEND');
    }

    public static function openAiBaseUrl(): string
    {
        return (string) getenv('THREADLOCK_TEST_OPENAI_BASE_URL');
    }

    /** A key no other test uses. */
    public static function key(string $what): string
    {
        return "php-{$what}-" . bin2hex(random_bytes(4));
    }

    /** An http:// address where nothing listens (bound to a free port, then closed). */
    public static function deadAddress(): string
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        if ($socket === false) {
            throw new \RuntimeException('no free port');
        }
        $name = (string) stream_socket_get_name($socket, false);
        fclose($socket);
        return "http://{$name}";
    }

    /**
     * A raw Connect call, bypassing the client (to act "behind its back").
     *
     * @param array<string, mixed> $body
     * @return array{int, array<string, mixed>}
     */
    public static function connect(string $method, array $body): array
    {
        $curl = curl_init(self::address() . "/threadlock.v1.LockService/{$method}");
        curl_setopt_array($curl, [CURLOPT_POST => true, CURLOPT_POSTFIELDS => json_encode($body),
            CURLOPT_HTTPHEADER => ['Content-Type: application/json'], CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 10]);
        $raw = (string) curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        return [$status, (array) json_decode($raw, true)];
    }

    /** Poll `$probe` until it returns non-null (fails after BOUND seconds). */
    public static function eventually(callable $probe, string $what): mixed
    {
        $until = microtime(true) + self::BOUND;
        while (true) {
            $value = $probe();
            if ($value !== null && $value !== false) {
                return $value;
            }
            if (microtime(true) > $until) {
                throw new \RuntimeException("timed out waiting for {$what}");
            }
            usleep(50_000);
        }
    }
}
