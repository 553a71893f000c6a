<?php

namespace App\OpenAi;

/**
 * The few OpenAI calls the seed's commands make (Responses + Conversations, and the Assistants
 * threads the seed's StartFullGenerateDocument used), over ext-curl. Laravel's Http client
 * would need Guzzle, which php-laravel-framework does not pull in; curl is already required.
 */
final class OpenAiClient
{
    public function __construct(private readonly string $baseUrl, private readonly string $apiKey = 'test')
    {
    }

    public static function fromEnv(): self
    {
        return new self((string) (getenv('OPENAI_BASE_URL') ?: 'https://api.openai.com/v1'), (string) (getenv('OPENAI_API_KEY') ?: 'test'));
    }

    /** @return array<string, mixed> */
    public function createConversation(): array
    {
        return $this->request('POST', '/conversations', ['metadata' => ['by' => 'threadlock-php']]);
    }

    /** @param array<string, string> $metadata @return array<string, mixed> */
    public function createResponse(string $conversation, string $input, array $metadata = []): array
    {
        return $this->request('POST', '/responses', ['model' => 'gpt-4o-mini', 'conversation' => $conversation,
            'input' => $input, 'metadata' => (object) $metadata]);
    }

    /** @return array<string, mixed> */
    public function createThread(): array
    {
        return $this->request('POST', '/threads', []);
    }

    /** @return array<string, mixed> */
    public function addMessage(string $thread, string $text): array
    {
        return $this->request('POST', "/threads/{$thread}/messages", ['role' => 'user', 'content' => $text]);
    }

    /** @param array<string, string> $metadata @return array<string, mixed> */
    public function createRun(string $thread, array $metadata = []): array
    {
        return $this->request('POST', "/threads/{$thread}/runs", ['assistant_id' => 'asst_writer', 'metadata' => (object) $metadata]);
    }

    /** Poll the run until it leaves queued/in_progress (bounded by `timeout` seconds). */
    public function waitForRun(string $thread, string $run, float $timeout = 60.0): string
    {
        $until = microtime(true) + $timeout;
        do {
            $status = (string) $this->request('GET', "/threads/{$thread}/runs/{$run}")['status'];
            if (!in_array($status, ['queued', 'in_progress', 'cancelling'], true)) {
                return $status;
            }
            usleep(50_000);
        } while (microtime(true) < $until);
        throw new \RuntimeException("run {$run} still {$status} after {$timeout}s");
    }

    /** The fake's control route (threadlock fake-openai): conflict counters. @return array<string, mixed> */
    public function fakeStats(): array
    {
        return $this->request('GET', '/_fake/stats', null, (string) preg_replace('#/v1/?$#', '', $this->baseUrl));
    }

    /** @param array<string, mixed>|null $body @return array<string, mixed> */
    private function request(string $method, string $path, ?array $body = null, ?string $base = null): array
    {
        $curl = curl_init(rtrim($base ?? $this->baseUrl, '/') . $path);
        $headers = ["Authorization: Bearer {$this->apiKey}", 'Content-Type: application/json'];
        curl_setopt_array($curl, [CURLOPT_CUSTOMREQUEST => $method, CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER => $headers, CURLOPT_TIMEOUT => 60]);
        if ($body !== null && $method !== 'GET') {
            curl_setopt($curl, CURLOPT_POSTFIELDS, json_encode((object) $body, JSON_THROW_ON_ERROR));
        }
        $raw = curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        $error = curl_error($curl);
        curl_close($curl);
        if (!is_string($raw)) {
            throw new \RuntimeException("OpenAI {$method} {$path}: {$error}");
        }
        $json = json_decode($raw, true);
        if ($status >= 400 || !is_array($json)) {
            $err = is_array($json) ? ($json['error'] ?? []) : [];
            throw new OpenAiError($status, (string) ($err['code'] ?? ''), (string) ($err['message'] ?? $raw));
        }
        return $json;
    }
}
