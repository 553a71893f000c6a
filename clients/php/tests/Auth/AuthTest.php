<?php

declare(strict_types=1);

namespace Threadlock\Tests\Auth;

use PHPUnit\Framework\TestCase;
use Threadlock\CoordinatorException;
use Threadlock\LockClient;
use Threadlock\Tests\Support\Env;

/**
 * Credentials against a coordinator with auth on (tests/test_php.py::test_php_auth passes
 * THREADLOCK_TEST_AUTH_HTTP_ADDRESS, an API key, a JWT and a token file path).
 */
final class AuthTest extends TestCase
{
    private static function env(string $name): string
    {
        $value = getenv($name);
        if ($value === false || $value === '') {
            throw new \RuntimeException("{$name} is not set: run this suite through tests/test_php.py");
        }
        return $value;
    }

    /** @param array<string, string> $credential e.g. ['apiKey' => '...'] */
    private static function client(array $credential = []): LockClient
    {
        return new LockClient(...['addresses' => [self::env('THREADLOCK_TEST_AUTH_HTTP_ADDRESS')], 'owner' => 'php-auth', ...$credential]);
    }

    private static function refusal(LockClient $locks): string
    {
        try {
            $locks->acquire(Env::key('auth'), ttl: 5)->release();
        } catch (CoordinatorException $e) {
            return $e->connectCode;
        }
        return 'granted';
    }

    public function testWithoutACredentialTheCallIsUnauthenticated(): void
    {
        $this->assertSame('unauthenticated', self::refusal(self::client()));
    }

    public function testApiKeyAndTokenAreSentAsBearer(): void
    {
        foreach ([['apiKey' => self::env('THREADLOCK_TEST_API_KEY')], ['token' => self::env('THREADLOCK_TEST_TOKEN')]] as $credential) {
            $lease = self::client($credential)->acquire(Env::key('auth'), ttl: 5);
            $this->assertGreaterThan(0, $lease->fencingToken);
            $this->assertTrue($lease->release());
        }
    }

    public function testTokenFileIsReReadWhenItChanges(): void
    {
        $file = self::env('THREADLOCK_TEST_TOKEN_FILE') . '.php';
        file_put_contents($file, self::env('THREADLOCK_TEST_TOKEN'));
        $locks = self::client(['tokenFile' => $file]);
        $this->assertSame('granted', self::refusal($locks));
        file_put_contents($file, "rotated-away\n");
        $this->assertSame('unauthenticated', self::refusal($locks));
        file_put_contents($file, self::env('THREADLOCK_TEST_TOKEN') . "\n");
        $this->assertSame('granted', self::refusal($locks));
    }

    public function testCredentialOptionsAreChecked(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage('exactly one');
        self::client(['token' => 'a', 'apiKey' => 'b']);
    }
}
