<?php

declare(strict_types=1);

namespace Threadlock;

/** TLS to the coordinator's HTTPS face: `ca` verifies it; `cert` + `key` for mutual TLS (PEM paths). */
final class Tls
{
    public function __construct(
        public readonly ?string $ca = null,
        public readonly ?string $cert = null,
        public readonly ?string $key = null,
    ) {
        foreach (['ca' => $ca, 'cert' => $cert, 'key' => $key] as $name => $path) {
            if ($path !== null && !is_readable($path)) {
                throw new \InvalidArgumentException("tls.{$name}: cannot read '{$path}'");
            }
        }
        if (($cert === null) !== ($key === null)) {
            throw new \InvalidArgumentException('tls.cert: give cert and key together (mutual TLS)');
        }
    }

    /** @return array<int, mixed> curl options */
    public function curlOptions(): array
    {
        $options = [CURLOPT_SSL_VERIFYPEER => true, CURLOPT_SSL_VERIFYHOST => 2];
        if ($this->ca !== null) {
            $options[CURLOPT_CAINFO] = $this->ca;
        }
        if ($this->cert !== null && $this->key !== null) {
            $options[CURLOPT_SSLCERT] = $this->cert;
            $options[CURLOPT_SSLKEY] = $this->key;
        }
        return $options;
    }
}
