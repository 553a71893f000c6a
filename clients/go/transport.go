package threadlock

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"
)

// transport performs one RPC on one address. The policy (call.go) decides what to call where
// and for how long; this is the only file that knows about connections.
type transport interface {
	invoke(ctx context.Context, target int, method string, req, resp proto.Message) error
	targets() int
	close() error
}

// serviceConfig: gRPC's own retry of UNAVAILABLE on one address, as the Python SDK's
// SERVICE_CONFIG; when an address stays unavailable, call() fails over to the next. Not for
// Stream (stream.go): gRPC would replay its buffered frames late, with stale timeouts, and
// hold back the UNAVAILABLE that lets call() fail over; a broken stream's calls are retried
// by call() like lost unary answers.
const serviceConfig = `{"methodConfig": [{
  "name": [{"service": "threadlock.v1.LockService"}],
  "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.1s", "maxBackoff": "1s",
                  "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
}, {
  "name": [{"service": "threadlock.v1.LockService", "method": "Stream"}]
}]}`

type grpcTransport struct {
	conns []*grpc.ClientConn
}

func dial(addresses []string, tlsCfg *TLSConfig, extra []grpc.DialOption) (*grpcTransport, error) {
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		cfg, err := tlsCfg.tlsConfig()
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(cfg)
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(serviceConfig),
		// A coordinator that restarts should be found again within a second or two, not
		// after gRPC's default reconnect backoff of up to two minutes.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6,
				Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second,
			Timeout: 20 * time.Second}),
	}, extra...)
	t := &grpcTransport{}
	for _, address := range addresses {
		conn, err := grpc.NewClient(address, opts...)
		if err != nil {
			_ = t.close()
			return nil, &OptionError{"Addresses", err.Error()}
		}
		t.conns = append(t.conns, conn)
	}
	return t, nil
}

func (t *grpcTransport) invoke(ctx context.Context, target int, method string,
	req, resp proto.Message) error {
	return t.conns[target].Invoke(ctx, "/threadlock.v1.LockService/"+method, req, resp)
}

func (t *grpcTransport) targets() int { return len(t.conns) }

func (t *grpcTransport) close() error {
	var errs []error
	for _, c := range t.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
