<?php

namespace App\OpenAi;

/** An OpenAI error answer, e.g. HTTP 400 conversation_locked. */
final class OpenAiError extends \RuntimeException
{
    public function __construct(public readonly int $status, public readonly string $errorCode, string $message)
    {
        parent::__construct("HTTP {$status} {$errorCode}: {$message}");
    }
}
