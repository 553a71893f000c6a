<?php

// A proxy in front of the coordinator's HTTP face that loses answers: it forwards every call
// but, for requests whose JSON body has the field named in argv[3], closes the connection
// without answering (the coordinator acted; the caller never hears of it). One connection at
// a time; runs until killed.
declare(strict_types=1);

[, $listen, $upstream, $dropField] = $argv;
$server = stream_socket_server("tcp://{$listen}", $errno, $error);
if ($server === false) {
    fwrite(STDERR, "cannot listen on {$listen}: {$error}\n");
    exit(1);
}
while (true) {
    $conn = @stream_socket_accept($server, 60);
    if ($conn === false) {
        continue;
    }
    $head = '';
    while (!str_contains($head, "\r\n\r\n") && ($line = fgets($conn)) !== false) {
        $head .= $line;
    }
    [$requestLine] = explode("\r\n", $head);
    $path = explode(' ', $requestLine)[1] ?? '/';
    $length = preg_match('/content-length:\s*(\d+)/i', $head, $m) ? (int) $m[1] : 0;
    $body = '';
    while (strlen($body) < $length && !feof($conn)) {
        $body .= (string) fread($conn, $length - strlen($body));
    }
    $curl = curl_init($upstream . $path);
    curl_setopt_array($curl, [CURLOPT_POST => true, CURLOPT_POSTFIELDS => $body, CURLOPT_RETURNTRANSFER => true,
        CURLOPT_HTTPHEADER => ['Content-Type: application/json'], CURLOPT_TIMEOUT => 30]);
    $answer = (string) curl_exec($curl);
    $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
    curl_close($curl);
    $decoded = json_decode($body, true);
    if (!(is_array($decoded) && array_key_exists($dropField, $decoded))) {
        fwrite($conn, "HTTP/1.1 {$status} X\r\nContent-Type: application/json\r\nContent-Length: " . strlen($answer)
            . "\r\nConnection: close\r\n\r\n{$answer}");
    }
    fclose($conn);
}
