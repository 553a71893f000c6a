package threadlock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	threadlock "github.com/threadlock/threadlock/clients/go"
)

// respond is the worked example of clients/go/README.md: one turn of an OpenAI conversation,
// under the conversation's lock. OpenAI answers 400 conversation_locked to a second request on
// a busy conversation; with the lock, workers take turns instead.
func respond(ctx context.Context, locks *threadlock.Client, baseURL, conversation,
	input string) (string, error) {
	lease, err := locks.Lock(ctx, conversation, threadlock.LockOptions{
		TTL: 30 * time.Second, Wait: time.Minute, Metadata: map[string]string{"step": "respond"}})
	if err != nil {
		return "", err // a *threadlock.BusyError after a minute in the queue
	}
	defer func() { _, _ = lease.Release(context.Background()) }()

	// The work stops if the lock is lost: its context ends with the loss as its cause.
	work, stop := threadlock.LeaseContext(ctx, lease)
	defer stop()
	body, _ := json.Marshal(map[string]any{
		"model": "gpt-5", "conversation": conversation, "input": input,
		"metadata": map[string]string{"fencing_token": fmt.Sprint(lease.FencingToken())}})
	req, err := http.NewRequestWithContext(work, http.MethodPost, baseURL+"/responses",
		bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv("OPENAI_API_KEY"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if cause := context.Cause(work); errors.Is(cause, threadlock.ErrLeaseLost) {
			return "", cause
		}
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusOK {
		text, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("openai: %s: %s", resp.Status, text)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	return out.ID, lease.Check() // still ours when the answer came
}

// post sends a JSON body to the fake OpenAI and returns the status and the decoded answer.
func post(t *testing.T, url string, body any) (int, map[string]any) {
	data, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestWorkedExampleWorkersTakeTurnsOnOneConversation(t *testing.T) {
	t.Parallel()
	base := env(t, "THREADLOCK_TEST_OPENAI_URL")
	_, conv := post(t, base+"/conversations", map[string]any{})
	id, _ := conv["id"].(string)
	if id == "" {
		t.Fatalf("no conversation: %v", conv)
	}
	// Unguarded, simultaneous requests collide: the fake enforces OpenAI's real 400.
	var wg sync.WaitGroup
	codes := make(chan int, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := post(t, base+"/responses", map[string]any{
				"model": "gpt-5", "conversation": id, "input": "unguarded"})
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	refused := 0
	for code := range codes {
		if code == http.StatusBadRequest {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("4 simultaneous unguarded requests all passed: the control shows nothing")
	}
	// Guarded: 4 workers x 3 turns, every turn answered.
	errs := make(chan error, 12)
	for w := range 4 {
		locks := newClient(t, fmt.Sprintf("go-worker-%d", w), threadlock.Config{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for turn := range 3 {
				_, err := respond(ctxFor(t, 2*time.Minute), locks, base, id,
					fmt.Sprintf("worker %d turn %d", w, turn))
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a guarded turn failed: %v", err)
		}
	}
}
