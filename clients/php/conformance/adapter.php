<?php

// The PHP client's conformance adapter (tests/conformance/PROTOCOL.md): JSON commands on
// stdin, one JSON answer per line on stdout, in order; logs on stderr. It calls only the
// client's public API. PHP has no background renewal, so `hold` extends every ttl/3 while it
// sleeps and `wait_lost` extends every 0.2 s until the client reports the loss.
declare(strict_types=1);

ini_set('display_errors', 'stderr');
error_reporting(E_ALL);
require __DIR__ . '/../autoload.php';

use Threadlock\CoordinatorException;
use Threadlock\InvalidArgument;
use Threadlock\Lease;
use Threadlock\LeaseLost;
use Threadlock\LockClient;
use Threadlock\ThreadBusy;
use Threadlock\Tls;

final class Adapter
{
    private ?LockClient $client = null;
    /** @var array<string, Lease> */
    private array $leases = [];

    /** @param array<string, mixed> $c @return array<string, mixed> */
    public function run(array $c): array
    {
        return match ($c['cmd'] ?? null) {
            'init' => $this->init($c),
            'acquire' => $this->acquire($c),
            'check' => $this->check($this->lease($c)),
            'hold' => $this->hold($this->lease($c), (float) $c['seconds']),
            'wait_lost' => $this->waitLost($this->lease($c), (float) $c['timeout']),
            'annotate' => $this->annotate($this->lease($c), $c),
            'release' => ['released' => $this->lease($c)->release()],
            'status' => $this->status($c),
            'close' => $this->close(),
            default => throw new LogicException('unknown command ' . json_encode($c['cmd'] ?? null)),
        };
    }

    /** @param array<string, mixed> $c @return array<string, mixed> */
    private function init(array $c): array
    {
        $tls = $c['tls'] ?? null;
        $this->client = new LockClient(
            array_map('strval', (array) $c['addresses']),
            owner: (string) ($c['owner'] ?? ''),
            tls: is_array($tls) ? new Tls($tls['ca'] ?? null, $tls['cert'] ?? null, $tls['key'] ?? null) : null,
            callTimeout: (float) ($c['call_timeout'] ?? 10),
            useSession: (bool) ($c['session'] ?? false),
            sessionTtl: (float) ($c['session_ttl'] ?? 30),
        );
        return ['sdk' => 'php ' . LockClient::VERSION];
    }

    /** @param array<string, mixed> $c @return array<string, mixed> */
    private function acquire(array $c): array
    {
        $lease = $this->client()->acquire((string) $c['key'], ttl: (float) $c['ttl'], wait: (float) ($c['wait'] ?? 0),
            metadata: array_map('strval', (array) ($c['metadata'] ?? [])),
            requestId: isset($c['request_id']) && $c['request_id'] !== '' ? (string) $c['request_id'] : null);
        $this->leases[(string) $c['handle']] = $lease;
        return ['handle' => (string) $c['handle'], 'key' => $lease->key, 'fencing_token' => $lease->fencingToken,
                'lease_token' => $lease->leaseToken, 'session_id' => $lease->sessionId, 'expires_in' => $lease->expiresIn()];
    }

    /** @return array<string, mixed> */
    private function check(Lease $lease): array
    {
        $lease->check();
        return [];
    }

    /** What a PHP job does between steps: extend every ttl/3, check at the end. @return array<string, mixed> */
    private function hold(Lease $lease, float $seconds): array
    {
        $until = hrtime(true) / 1e9 + $seconds;
        while (($left = $until - hrtime(true) / 1e9) > 0) {
            usleep((int) (min($lease->ttl() / 3, $left) * 1e6));
            $lease->extend();
        }
        return $this->check($lease);
    }

    /** @return array<string, mixed> */
    private function waitLost(Lease $lease, float $timeout): array
    {
        $until = hrtime(true) / 1e9 + $timeout;
        while (true) {
            try {
                $lease->extend();
            } catch (LeaseLost $lost) {
                return ['lost' => true, 'reason' => $lost->reason];
            } catch (CoordinatorException) {
                // transient: the client declares the loss itself once the TTL lapses
            }
            if (hrtime(true) / 1e9 >= $until) {
                return ['lost' => false, 'reason' => null];
            }
            usleep(200_000);
        }
    }

    /** @param array<string, mixed> $c @return array<string, mixed> */
    private function annotate(Lease $lease, array $c): array
    {
        $lease->annotate(array_map('strval', (array) ($c['metadata'] ?? [])));
        return [];
    }

    /** @param array<string, mixed> $c @return array<string, mixed> */
    private function status(array $c): array
    {
        $states = isset($c['key']) ? $this->client()->status(key: (string) $c['key']) : $this->client()->status(prefix: (string) ($c['prefix'] ?? ''));
        $locks = [];
        foreach ($states as $s) {
            $locks[] = ['key' => $s->key,
                'holder' => $s->holder === null ? null : ['owner' => $s->holder->owner, 'fencing_token' => $s->holder->fencingToken,
                    'metadata' => (object) $s->holder->metadata],
                'waiters' => array_map(fn ($w) => ['owner' => $w->owner, 'position' => $w->position], $s->waiters)];
        }
        return ['locks' => $locks];
    }

    /** @return array<string, mixed> */
    private function close(): array
    {
        $this->client?->close();
        $this->client = null;
        return [];
    }

    private function client(): LockClient
    {
        return $this->client ?? throw new LogicException('init first');
    }

    /** @param array<string, mixed> $c */
    private function lease(array $c): Lease
    {
        return $this->leases[(string) ($c['handle'] ?? '')] ?? throw new LogicException('unknown handle ' . json_encode($c['handle'] ?? null));
    }
}

/** @return array<string, mixed> the protocol's error object */
function describe(Throwable $e): array
{
    $short = (new ReflectionClass($e))->getShortName();
    $error = ['message' => $e->getMessage()];
    if ($e instanceof ThreadBusy) {
        return $error + ['type' => 'ThreadBusy', 'holder' => $e->holder, 'waiters' => $e->waiters, 'message' => $e->getMessage()];
    }
    if ($e instanceof LeaseLost) {
        return $error + ['type' => 'LeaseLost', 'reason' => $e->reason];
    }
    if ($e instanceof InvalidArgument) {
        return $error + ['type' => 'InvalidArgument', 'field' => $e->field];
    }
    if ($e instanceof CoordinatorException) {
        return $error + ['type' => in_array($short, ['NotFound', 'Conflict', 'Unavailable'], true) ? $short : 'CoordinatorError'];
    }
    if ($e instanceof InvalidArgumentException) {
        return $error + ['type' => 'ValueError'];
    }
    fwrite(STDERR, (string) $e . "\n");
    return $error + ['type' => 'Internal'];
}

$adapter = new Adapter();
while (($line = fgets(STDIN)) !== false) {
    if (trim($line) === '') {
        continue;
    }
    try {
        $command = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
        $answer = ['ok' => true] + $adapter->run(is_array($command) ? $command : []);
    } catch (Throwable $e) {
        $answer = ['ok' => false, 'error' => describe($e)];
    }
    fwrite(STDOUT, json_encode($answer, JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION) . "\n");
    fflush(STDOUT);
}
try {
    $adapter->run(['cmd' => 'close']);
} catch (Throwable $e) {
    fwrite(STDERR, "close: {$e->getMessage()}\n");
}
exit(0);
