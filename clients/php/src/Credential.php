<?php

declare(strict_types=1);

namespace Threadlock;

/**
 * The credential for a coordinator that runs with auth, sent on every call as
 * `Authorization: Bearer <credential>`: a JWT (`token:`), a file holding one (`tokenFile:`,
 * re-read whenever it changes: Kubernetes rotates projected ServiceAccount tokens in place)
 * or a static API key (`apiKey:`).
 *
 * @internal
 */
final class Credential
{
    private string $stamp = '';
    private string $value;

    private function __construct(string $value, private readonly ?string $file)
    {
        $this->value = $value;
    }

    /** null when none is given (a coordinator without auth). */
    public static function fromOptions(?string $token, ?string $tokenFile, ?string $apiKey): ?self
    {
        $given = array_keys(array_filter(['token' => $token, 'tokenFile' => $tokenFile, 'apiKey' => $apiKey],
            fn (?string $v) => $v !== null));
        if ($given === []) {
            return null;
        }
        if (count($given) > 1) {
            throw new \InvalidArgumentException(implode(', ', $given) . ': give exactly one of token, tokenFile, apiKey');
        }
        $value = (string) ($token ?? $tokenFile ?? $apiKey);
        if (trim($value) === '' || preg_match('/[\r\n]/', $value) === 1) {
            throw new \InvalidArgumentException("{$given[0]}: must be a non-empty single line");
        }
        $credential = new self(trim($value), $tokenFile);
        if ($tokenFile !== null) {
            $credential->header(); // a missing file is a setup error: say so at construction
        }
        return $credential;
    }

    public function header(): string
    {
        if ($this->file !== null) {
            clearstatcache(true, $this->file);
            $mtime = @filemtime($this->file);
            $size = @filesize($this->file);
            $text = $mtime === false ? false : ($this->stamp === "{$mtime}:{$size}" ? $this->value : @file_get_contents($this->file));
            if ($text === false) {
                throw new \InvalidArgumentException("tokenFile: cannot read {$this->file}");
            }
            [$this->value, $this->stamp] = [trim($text), "{$mtime}:{$size}"];
        }
        return "Authorization: Bearer {$this->value}";
    }
}
