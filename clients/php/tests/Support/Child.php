<?php

declare(strict_types=1);

namespace Threadlock\Tests\Support;

/** A PHP child process (another worker) whose output is read when it ends. */
final class Child
{
    /** @var resource */
    private $process;
    /** @var array<int, resource> */
    private array $pipes;

    /** @param list<string> $args @param array<string, string> $env */
    public function __construct(array $args, array $env = [])
    {
        $process = proc_open(array_merge([PHP_BINARY], $args), [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes,
            null, $env + getenv());
        if ($process === false) {
            throw new \RuntimeException('cannot start ' . implode(' ', $args));
        }
        $this->process = $process;
        $this->pipes = $pipes;
    }

    /** Wait for the end (bounded); [exit code, stdout, stderr]. @return array{int, string, string} */
    public function finish(float $timeout = Env::BOUND): array
    {
        $until = microtime(true) + $timeout;
        stream_set_blocking($this->pipes[1], false);
        stream_set_blocking($this->pipes[2], false);
        $out = $err = '';
        do {
            $out .= (string) stream_get_contents($this->pipes[1]);
            $err .= (string) stream_get_contents($this->pipes[2]);
            $status = proc_get_status($this->process);
            if (!$status['running']) {
                $out .= (string) stream_get_contents($this->pipes[1]);
                $err .= (string) stream_get_contents($this->pipes[2]);
                return [(int) $status['exitcode'], $out, $err];
            }
            usleep(20_000);
        } while (microtime(true) < $until);
        proc_terminate($this->process);
        throw new \RuntimeException("child did not end within {$timeout}s: {$out} {$err}");
    }

    public function kill(): void
    {
        proc_terminate($this->process);
        proc_close($this->process);
    }
}
