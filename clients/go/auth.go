package threadlock

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"google.golang.org/grpc/credentials"
)

// bearer sends `authorization: Bearer <credential>` on every call (gRPC PerRPCCredentials),
// for a coordinator that runs with auth. A token file is read at New (a missing file is an
// OptionError) and again whenever its modification time or size changes: Kubernetes rotates
// projected ServiceAccount tokens in place.
type bearer struct {
	fixed string
	file  string

	mu    sync.Mutex
	stamp string
	value string
}

var _ credentials.PerRPCCredentials = (*bearer)(nil)

// newBearer: nil when Config names no credential.
func newBearer(c Config) (*bearer, error) {
	var given []string
	for name, v := range map[string]string{"Token": c.Token, "TokenFile": c.TokenFile,
		"APIKey": c.APIKey} {
		if v != "" {
			given = append(given, name)
		}
	}
	switch {
	case len(given) == 0:
		return nil, nil
	case len(given) > 1:
		return nil, &OptionError{"Token/TokenFile/APIKey", "give exactly one"}
	}
	b := &bearer{fixed: strings.TrimSpace(c.Token + c.APIKey), file: c.TokenFile}
	if strings.ContainsAny(b.fixed, "\r\n") {
		return nil, &OptionError{given[0], "must be a single line"}
	}
	if b.file != "" {
		if _, err := b.current(); err != nil {
			return nil, &OptionError{"TokenFile", err.Error()}
		}
	}
	return b, nil
}

func (b *bearer) current() (string, error) {
	if b.file == "" {
		return b.fixed, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	info, err := os.Stat(b.file)
	if err != nil {
		return "", err
	}
	stamp := fmt.Sprintf("%d:%d", info.ModTime().UnixNano(), info.Size())
	if stamp != b.stamp {
		data, err := os.ReadFile(b.file)
		if err != nil {
			return "", err
		}
		b.value, b.stamp = strings.TrimSpace(string(data)), stamp
	}
	return b.value, nil
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b *bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	value, err := b.current()
	if err != nil {
		return nil, fmt.Errorf("threadlock: TokenFile: %w", err)
	}
	return map[string]string{"authorization": "Bearer " + value}, nil
}

// RequireTransportSecurity: false, so that plaintext coordinators (loopback, a mesh that adds
// mTLS) work too; use TLS wherever the network between client and coordinator is not trusted.
func (b *bearer) RequireTransportSecurity() bool { return false }
