<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * The thin transport: one unary Connect call (JSON) to one address with ext-curl. It knows
 * nothing of retries or failover (Protocol does); it turns every outcome into a decoded
 * response or an RpcFailure with a Connect code.
 *
 * @internal
 */
final class HttpTransport
{
    private const SERVICE = 'threadlock.v1.LockService';

    /** @var array<int, \CurlHandle> one handle per address: curl keeps its connection open */
    private array $handles = [];

    /** @param list<string> $addresses base URLs, e.g. "http://threadlock:8080" */
    public function __construct(
        private readonly array $addresses,
        private readonly ?Tls $tls,
        private readonly ?Credential $credential = null,
    ) {
    }

    public function count(): int
    {
        return count($this->addresses);
    }

    /**
     * POST /threadlock.v1.LockService/<method> with the proto3-JSON request; `timeout` seconds
     * bound the whole attempt and travel as Connect-Timeout-Ms so the server stops in time too.
     *
     * @param array<string, mixed> $request
     * @return array<string, mixed>
     * @throws RpcFailure
     */
    public function call(int $target, string $method, array $request, float $timeout): array
    {
        $handle = $this->handles[$target] ??= curl_init();
        curl_reset($handle);
        $ms = max((int) ceil($timeout * 1000), 1);
        $options = [
            CURLOPT_URL => rtrim($this->addresses[$target], '/') . '/' . self::SERVICE . '/' . $method,
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => json_encode($request, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES),
            CURLOPT_HTTPHEADER => [
                'Content-Type: application/json',
                'Connect-Protocol-Version: 1',
                "Connect-Timeout-Ms: {$ms}",
                ...($this->credential !== null ? [$this->credential->header()] : []),
            ],
            CURLOPT_RETURNTRANSFER => true,
            // A little past the server's own deadline: a queued Acquire answers `busy` just
            // before it, and that answer must still reach us.
            CURLOPT_TIMEOUT_MS => $ms + 250,
            CURLOPT_CONNECTTIMEOUT_MS => min($ms, 5000),
            CURLOPT_NOSIGNAL => true,
        ];
        if ($this->tls !== null) {
            $options += $this->tls->curlOptions();
        }
        curl_setopt_array($handle, $options);
        $body = curl_exec($handle);
        if ($body === false || !is_string($body)) {
            $errno = curl_errno($handle);
            $what = curl_error($handle);
            throw new RpcFailure($errno === CURLE_OPERATION_TIMEDOUT ? 'deadline_exceeded' : 'unavailable',
                "{$this->addresses[$target]}: {$what}");
        }
        $status = (int) curl_getinfo($handle, CURLINFO_RESPONSE_CODE);
        $decoded = json_decode($body, true);
        if ($status === 200 && is_array($decoded)) {
            return $decoded;
        }
        if (is_array($decoded) && isset($decoded['code']) && is_string($decoded['code'])) {
            $message = isset($decoded['message']) && is_string($decoded['message']) ? $decoded['message'] : '';
            throw new RpcFailure($decoded['code'], $message);
        }
        // Not a Connect answer (a proxy's error page, ...): Connect's HTTP-to-code mapping.
        $code = match ($status) {
            400 => 'internal', 401 => 'unauthenticated', 403 => 'permission_denied',
            404 => 'unimplemented', 429, 502, 503, 504 => 'unavailable', default => 'unknown',
        };
        throw new RpcFailure($code, "{$this->addresses[$target]} answered HTTP {$status}: " . substr($body, 0, 200));
    }

    public function close(): void
    {
        foreach ($this->handles as $handle) {
            curl_close($handle);
        }
        $this->handles = [];
    }
}
