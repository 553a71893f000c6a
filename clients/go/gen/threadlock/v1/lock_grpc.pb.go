// threadlock: per-key locks for OpenAI conversations and threads, shared by every process and
// pod that talks to one coordinator. This file is the contract; its comments are the API docs.
//
// # Model
// A *key* names the thing to protect (a conversation id such as "conv_abc", a thread id such as
// "thread_abc", or any string of your own). At most one *lease* holds a key at a time. A lease
// lives while it is renewed: a holder that stops renewing (crashed, partitioned, paused) loses
// the key when its TTL lapses, and the next waiter gets it.
//
// Every grant of a key carries a *fencing token*, an integer that strictly increases with every
// grant of that key. Compare tokens of one key only: grants of different keys may carry the same
// token (writes committed together share one etcd revision), and across keys tokens do not follow
// grant order (a waiter's token dates from when it joined the queue). Pass it to whatever the
// lock protects and reject writes that carry a smaller token than one already seen for that key:
// a paused holder whose lease expired then cannot overwrite its successor's work.
//
// # Calls
// Acquire     take a key: try once (wait = 0) or queue in FIFO order for up to `wait`.
// KeepAlive   renew a lease (or a session) before its TTL lapses; says at once if it is gone.
// Release     give a key back (or leave the queue) with the lease token. Idempotent.
// OpenSession / CloseSession
//             one lease per client process; any number of locks under it; one renewal
//             keeps them all. A session that ends (closed or expired) frees all its locks.
// Status      who holds a key, a key prefix, or everything (paginated), and who waits.
// Stream      every call above over one long-lived bidirectional stream: the SDKs' cheap
//             path (one message per call instead of one HTTP/2 stream per call).
// ForceRelease (admin) free a stuck key of any tenant; audited.
//
// # Authentication, tenants and roles
// Off unless the coordinator runs with an auth file (--auth-file). Then every call sends
// `authorization: Bearer <JWT or API key>` (gRPC metadata, or the HTTP header of the same name
// on the Connect face), or presents a client certificate (mTLS) whose SAN URI (SPIFFE id) or
// DNS name the auth file lists. The auth file maps each identity to a *tenant* and a *role*.
// - Keys are per tenant: the server stores them under the caller's tenant, so the same key in
//   two tenants is two locks, Status lists only the caller's tenant (keys as the caller named
//   them), and a lease token or session id of one tenant is refused (PERMISSION_DENIED) for
//   another, with nothing changed.
// - Roles: locker (Acquire, KeepAlive, Release, sessions, Status of its tenant); viewer
//   (Status of its tenant); admin (everything a locker may, Status across tenants with keys
//   shown as "<tenant>/<key>", and ForceRelease).
// - Quotas per tenant (keys held, waiters, sessions, Acquire rate per replica, key length,
//   metadata size) answer RESOURCE_EXHAUSTED naming the limit, with nothing changed.
//
// # Outcomes and gRPC status codes
// OK                  Acquire granted (`lease` set) or the key is busy (`busy` set): busy is a
//                     normal outcome, never an error. Release done, or already done earlier.
// INVALID_ARGUMENT    a field is malformed or out of range; the message names the field,
//                     e.g. "ttl: must be between 2s and 3600s, got 0.5s".
// NOT_FOUND           a lease token or session that does not exist (any more): it expired,
//                     its session ended, or it never existed. For KeepAlive this means "you
//                     lost it: stop the protected work"; for Release, "this token holds
//                     nothing", and nothing was changed (a recent release answers OK instead).
//                     Acquire with a session_id whose session ended.
// FAILED_PRECONDITION a request_id reused for a different owner of the key, or reused after
//                     its lease was released: use a new request_id per logical acquire.
// ABORTED             a queued Acquire whose own lease (or session) expired while it waited
//                     (retry with a new request_id), or that a retry with its request_id took
//                     over while it was still in flight.
// DEADLINE_EXCEEDED   the call's own gRPC deadline passed. A queued Acquire whose deadline
//                     is shorter than its `wait` answers `busy` just before the deadline
//                     instead (Busy.waited says how long it queued).
// UNAVAILABLE         the coordinator cannot reach its store (etcd) within the call's deadline.
//                     Safe to retry: Acquire with the same request_id, KeepAlive and Release
//                     as they are. No lock is granted twice and none is lost.
// CANCELLED           the caller cancelled; a queued Acquire leaves the queue at once.
// UNAUTHENTICATED     auth is on and the credential is missing, malformed, unknown, expired,
//                     or a JWT of an untrusted issuer or another audience.
// PERMISSION_DENIED   the caller's role does not allow the call, or a lease token or session
//                     id belongs to another tenant. Nothing was changed.
// RESOURCE_EXHAUSTED  a quota or server limit (named in the message, e.g. "acquire_rate: ...")
//                     would be exceeded. Nothing was changed; retry later with backoff.
//
// # Time
// TTLs are whole seconds between the server's min_ttl (default 2 s, etcd's smallest lease) and
// max_ttl (default 3600 s); fractions round up. A ttl below the minimum is refused rather than
// silently lengthened, because callers size their work to it. Renew every ttl/3.
//
// # Room to grow
// Field numbers 50-59 of each request stay reserved (credentials travel as metadata, the tenant
// comes from them) and the service keeps a slot for a Watch stream of lock events.

// Code generated by protoc-gen-go-grpc. DO NOT EDIT.
// versions:
// - protoc-gen-go-grpc v1.6.2
// - protoc             (unknown)
// source: threadlock/v1/lock.proto

package threadlockv1

import (
	context "context"
	grpc "google.golang.org/grpc"
	codes "google.golang.org/grpc/codes"
	status "google.golang.org/grpc/status"
)

// This is a compile-time assertion to ensure that this generated file
// is compatible with the grpc package it is being compiled against.
// Requires gRPC-Go v1.64.0 or later.
const _ = grpc.SupportPackageIsVersion9

const (
	LockService_Acquire_FullMethodName      = "/threadlock.v1.LockService/Acquire"
	LockService_KeepAlive_FullMethodName    = "/threadlock.v1.LockService/KeepAlive"
	LockService_Release_FullMethodName      = "/threadlock.v1.LockService/Release"
	LockService_OpenSession_FullMethodName  = "/threadlock.v1.LockService/OpenSession"
	LockService_CloseSession_FullMethodName = "/threadlock.v1.LockService/CloseSession"
	LockService_Status_FullMethodName       = "/threadlock.v1.LockService/Status"
	LockService_Stream_FullMethodName       = "/threadlock.v1.LockService/Stream"
	LockService_ForceRelease_FullMethodName = "/threadlock.v1.LockService/ForceRelease"
	LockService_Watch_FullMethodName        = "/threadlock.v1.LockService/Watch"
)

// LockServiceClient is the client API for LockService service.
//
// For semantics around ctx use and closing/ending streaming RPCs, please refer to https://pkg.go.dev/google.golang.org/grpc/?tab=doc#ClientConn.NewStream.
//
// LockService grants per-key locks backed by leases with TTLs. Any replica serves any call:
// replicas keep no lock state.
type LockServiceClient interface {
	// Acquire takes `key` for `owner`, or reports who holds it.
	//
	// wait = 0: one try. Granted if nobody holds the key and nobody waits for it (a newcomer
	//
	//	never jumps the queue); otherwise `busy`.
	//
	// wait > 0: join the key's FIFO queue and wait up to `wait`; granted when every earlier
	//
	//	arrival has released or expired, else `busy` when `wait` elapses. A queued call that is
	//	cancelled, disconnected or past its deadline leaves the queue at once.
	//
	// While the call waits, the coordinator keeps the queued lease alive; once granted, the
	// caller renews it with KeepAlive (or renews its session).
	//
	// Retries: set request_id (e.g. a UUID per logical acquire). A retry with the same
	// request_id returns the same lease (same lease_token and fencing_token), or resumes waiting
	// in the same queue slot; it never creates a second grant or a second slot. This holds while
	// the lease lives and for at least 60 s after its Release (a later retry is refused with
	// FAILED_PRECONDITION); after a lease *expired*, the same request_id acquires anew. A
	// try-once retry (wait = 0) of a queued request only reports; it leaves the slot in place.
	// The slot is kept only while some attempt of the request is still waiting: an attempt that
	// ends without a grant (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED) gives it up, so that a
	// caller who does not come back never blocks the queue; a retry after that (or during that
	// give-up) queues anew.
	// A retry takes the request over: an older attempt of it still in flight answers ABORTED.
	Acquire(ctx context.Context, in *AcquireRequest, opts ...grpc.CallOption) (*AcquireResponse, error)
	// KeepAlive renews a lease or a session and returns its new expiry. Unary on purpose: it
	// passes any HTTP/2 load balancer, may hit any replica, is trivially retried, and is easy to
	// call from languages with weak streaming support (PHP). Renew every ttl/3. NOT_FOUND means
	// the lease or session is gone: stop the protected work.
	KeepAlive(ctx context.Context, in *KeepAliveRequest, opts ...grpc.CallOption) (*KeepAliveResponse, error)
	// Release gives the key back, or leaves the queue if the lease was still waiting. Only the
	// lease token releases; a token that does not hold the key is refused with NOT_FOUND and
	// changes nothing (this includes a lease that expired: its holder lost the lock and must
	// know). Idempotent: a repeated Release of the same token answers OK with released = false
	// for at least 60 s.
	Release(ctx context.Context, in *ReleaseRequest, opts ...grpc.CallOption) (*ReleaseResponse, error)
	// OpenSession grants one lease for a client process. Locks acquired with its session_id
	// live as long as the session; one KeepAlive of the session renews all of them, so renewal
	// traffic grows with processes, not with locks. While such an Acquire queues, its slot
	// lives on a short lease the serving coordinator renews, so a coordinator that dies leaves
	// no slot behind; once granted, the lock lives on the session's lease.
	OpenSession(ctx context.Context, in *OpenSessionRequest, opts ...grpc.CallOption) (*OpenSessionResponse, error)
	// CloseSession ends a session and frees every lock it holds at once; its queued Acquires
	// end with NOT_FOUND within a few seconds (their slots live on leases of their own).
	// Idempotent.
	CloseSession(ctx context.Context, in *CloseSessionRequest, opts ...grpc.CallOption) (*CloseSessionResponse, error)
	// Status lists holders and waiters of one key, of keys with a prefix, or of all keys.
	Status(ctx context.Context, in *StatusRequest, opts ...grpc.CallOption) (*StatusResponse, error)
	// Stream carries calls of the methods above as messages on one long-lived bidirectional
	// stream, for clients that make many calls: a message costs the server about a third of a
	// unary call. Each StreamRequest is one call (or cancels one), answered by exactly one
	// StreamResponse with the same call_id. A call on the stream means exactly what the same
	// unary call means: same validation, outcomes, status codes, retries by request_id, quotas
	// and metrics. Unary stays the simple path (grpcurl, raw callers, other languages).
	//
	// Ordering: frames are read in the order sent and each call starts when its frame is read,
	//
	//	but calls run concurrently and answer when done, in any order: match them by call_id.
	//	As with concurrent unary calls, two Acquires in flight at once have no queue order
	//	between them; send the second after the first answered if order matters.
	//
	// Deadlines: per call, `StreamRequest.timeout` (unset: none, like a unary call without a
	//
	//	deadline). It bounds the call as a gRPC deadline does (a queued Acquire answers `busy`
	//	just before it); past it the call answers DEADLINE_EXCEEDED. The stream itself has no
	//	deadline; set none on it.
	//
	// Cancellation: a frame with `cancel` set cancels the call with that call_id, as a cancelled
	//
	//	unary call: a queued Acquire leaves the queue at once. The call then answers CANCELLED
	//	(or its result, if it finished first). A cancel for a call_id not in flight is ignored.
	//
	// A broken stream (disconnect, server shutdown, the client ending it): every call still in
	//
	//	flight is cancelled as above. Its answer is lost like a lost unary response: a grant may
	//	have happened (Acquire: retry with the same request_id, on a new stream or unary, to get
	//	the same lease back; a queued slot is gone); KeepAlive and Release are safe to repeat.
	//	A server that is shutting down answers new calls UNAVAILABLE and lets calls in flight
	//	finish within its grace period; clients move to another stream (or replica).
	//
	// Flow control: HTTP/2's, for the stream as a whole. At most the server's per-stream limit
	//
	//	of calls (max_stream_calls, default 1000) are in flight at once; a call beyond it is
	//	answered RESOURCE_EXHAUSTED naming "max_stream_calls", with nothing done, and the stream
	//	stays open. A call_id already in flight, 0, or a frame with no call answers
	//	INVALID_ARGUMENT naming the field. A frame that is not a StreamRequest at all ends the
	//	stream with INVALID_ARGUMENT (there is no call_id to answer).
	//
	// Authentication: the stream's own metadata carries the credential (`authorization`, or the
	//
	//	TLS client certificate), checked when the stream opens (a bad one ends the stream with
	//	UNAUTHENTICATED) and again for each call, so that an expired JWT or a revoked key stops
	//	working on open streams too. The tenant is fixed when the stream opens; a credential
	//	that later maps to another tenant is refused (PERMISSION_DENIED). The caller's role is
	//	checked per call: a viewer's Acquire answers PERMISSION_DENIED, its Status succeeds.
	//	Credentials in `headers` are ignored.
	Stream(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[StreamRequest, StreamResponse], error)
	// ForceRelease (role admin, auth on only) frees a key that a tenant's holder does not
	// release, e.g. a stuck worker with a long TTL. Its holder's next KeepAlive answers NOT_FOUND
	// and the next waiter is granted. Every call is written to the audit log with `reason`.
	// NOT_FOUND if nobody holds the key. Without auth it answers PERMISSION_DENIED.
	ForceRelease(ctx context.Context, in *ForceReleaseRequest, opts ...grpc.CallOption) (*ForceReleaseResponse, error)
	// Watch streams the lock events of one key or of keys with a prefix: a snapshot of their
	// current holders and waiters, then every change as it happens. Roles: locker, viewer and
	// admin of a tenant (keys without the tenant prefix); admin across tenants as Status.
	//
	// Stream: [CURSOR_TOO_OLD] snapshot events (snapshot = true: GRANTED for holders, QUEUED
	// for waiters, keys ascending, each key in queue order) SNAPSHOT_END, then changes. With a
	// resumable `cursor` there is no snapshot: the changes after it follow directly.
	//
	// Ordering: events carry the store's history position (`revision`: the etcd revision, or
	// the embedded store's revision). Events arrive in revision order; those of one revision
	// (e.g. every lock of a session whose lease lapsed) in one fixed order. So the events of one
	// key arrive in the order they happened, and every replica sends the same events with the
	// same cursors: an event written through replica A is seen by a watcher on replica B.
	//
	// Cursors: every event has one; Watch(cursor = the last one received) resumes right after
	// that event, on any replica, with no gap and no duplicate. A cursor the store no longer
	// has history for (etcd compacted it; beyond the embedded store's 100,000 recent changes;
	// another etcd cluster; an embedded store since restarted) answers CURSOR_TOO_OLD and a
	// fresh snapshot instead: drop what you knew and rebuild from it.
	//
	// Limits: at most --max-watchers (default 1000) watchers per replica, beyond that
	// RESOURCE_EXHAUSTED "max_watchers: ..."; a watcher that falls --watch-buffer (default
	// 10,000) events behind is ended with RESOURCE_EXHAUSTED "watch_buffer: ..." instead of
	// growing the coordinator's memory: resume with its last cursor. While etcd is unreachable
	// no events arrive (the stream stays open) and they follow, in order, once it returns; a
	// Watch opened while this replica has never read etcd answers UNAVAILABLE within 5 s.
	// A malformed cursor is INVALID_ARGUMENT naming `cursor`.
	//
	// Each WatchResponse carries one or more events (a snapshot in chunks; changes as many as
	// were ready when the message was sent): batching keeps the cost per event low when many
	// watchers follow busy keys. Treat the stream as one sequence of events.
	Watch(ctx context.Context, in *WatchRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[WatchResponse], error)
}

type lockServiceClient struct {
	cc grpc.ClientConnInterface
}

func NewLockServiceClient(cc grpc.ClientConnInterface) LockServiceClient {
	return &lockServiceClient{cc}
}

func (c *lockServiceClient) Acquire(ctx context.Context, in *AcquireRequest, opts ...grpc.CallOption) (*AcquireResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(AcquireResponse)
	err := c.cc.Invoke(ctx, LockService_Acquire_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *lockServiceClient) KeepAlive(ctx context.Context, in *KeepAliveRequest, opts ...grpc.CallOption) (*KeepAliveResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(KeepAliveResponse)
	err := c.cc.Invoke(ctx, LockService_KeepAlive_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *lockServiceClient) Release(ctx context.Context, in *ReleaseRequest, opts ...grpc.CallOption) (*ReleaseResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(ReleaseResponse)
	err := c.cc.Invoke(ctx, LockService_Release_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *lockServiceClient) OpenSession(ctx context.Context, in *OpenSessionRequest, opts ...grpc.CallOption) (*OpenSessionResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(OpenSessionResponse)
	err := c.cc.Invoke(ctx, LockService_OpenSession_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *lockServiceClient) CloseSession(ctx context.Context, in *CloseSessionRequest, opts ...grpc.CallOption) (*CloseSessionResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(CloseSessionResponse)
	err := c.cc.Invoke(ctx, LockService_CloseSession_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *lockServiceClient) Status(ctx context.Context, in *StatusRequest, opts ...grpc.CallOption) (*StatusResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(StatusResponse)
	err := c.cc.Invoke(ctx, LockService_Status_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *lockServiceClient) Stream(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[StreamRequest, StreamResponse], error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	stream, err := c.cc.NewStream(ctx, &LockService_ServiceDesc.Streams[0], LockService_Stream_FullMethodName, cOpts...)
	if err != nil {
		return nil, err
	}
	x := &grpc.GenericClientStream[StreamRequest, StreamResponse]{ClientStream: stream}
	return x, nil
}

// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.
type LockService_StreamClient = grpc.BidiStreamingClient[StreamRequest, StreamResponse]

func (c *lockServiceClient) ForceRelease(ctx context.Context, in *ForceReleaseRequest, opts ...grpc.CallOption) (*ForceReleaseResponse, error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	out := new(ForceReleaseResponse)
	err := c.cc.Invoke(ctx, LockService_ForceRelease_FullMethodName, in, out, cOpts...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *lockServiceClient) Watch(ctx context.Context, in *WatchRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[WatchResponse], error) {
	cOpts := append([]grpc.CallOption{grpc.StaticMethod()}, opts...)
	stream, err := c.cc.NewStream(ctx, &LockService_ServiceDesc.Streams[1], LockService_Watch_FullMethodName, cOpts...)
	if err != nil {
		return nil, err
	}
	x := &grpc.GenericClientStream[WatchRequest, WatchResponse]{ClientStream: stream}
	if err := x.ClientStream.SendMsg(in); err != nil {
		return nil, err
	}
	if err := x.ClientStream.CloseSend(); err != nil {
		return nil, err
	}
	return x, nil
}

// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.
type LockService_WatchClient = grpc.ServerStreamingClient[WatchResponse]

// LockServiceServer is the server API for LockService service.
// All implementations must embed UnimplementedLockServiceServer
// for forward compatibility.
//
// LockService grants per-key locks backed by leases with TTLs. Any replica serves any call:
// replicas keep no lock state.
type LockServiceServer interface {
	// Acquire takes `key` for `owner`, or reports who holds it.
	//
	// wait = 0: one try. Granted if nobody holds the key and nobody waits for it (a newcomer
	//
	//	never jumps the queue); otherwise `busy`.
	//
	// wait > 0: join the key's FIFO queue and wait up to `wait`; granted when every earlier
	//
	//	arrival has released or expired, else `busy` when `wait` elapses. A queued call that is
	//	cancelled, disconnected or past its deadline leaves the queue at once.
	//
	// While the call waits, the coordinator keeps the queued lease alive; once granted, the
	// caller renews it with KeepAlive (or renews its session).
	//
	// Retries: set request_id (e.g. a UUID per logical acquire). A retry with the same
	// request_id returns the same lease (same lease_token and fencing_token), or resumes waiting
	// in the same queue slot; it never creates a second grant or a second slot. This holds while
	// the lease lives and for at least 60 s after its Release (a later retry is refused with
	// FAILED_PRECONDITION); after a lease *expired*, the same request_id acquires anew. A
	// try-once retry (wait = 0) of a queued request only reports; it leaves the slot in place.
	// The slot is kept only while some attempt of the request is still waiting: an attempt that
	// ends without a grant (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED) gives it up, so that a
	// caller who does not come back never blocks the queue; a retry after that (or during that
	// give-up) queues anew.
	// A retry takes the request over: an older attempt of it still in flight answers ABORTED.
	Acquire(context.Context, *AcquireRequest) (*AcquireResponse, error)
	// KeepAlive renews a lease or a session and returns its new expiry. Unary on purpose: it
	// passes any HTTP/2 load balancer, may hit any replica, is trivially retried, and is easy to
	// call from languages with weak streaming support (PHP). Renew every ttl/3. NOT_FOUND means
	// the lease or session is gone: stop the protected work.
	KeepAlive(context.Context, *KeepAliveRequest) (*KeepAliveResponse, error)
	// Release gives the key back, or leaves the queue if the lease was still waiting. Only the
	// lease token releases; a token that does not hold the key is refused with NOT_FOUND and
	// changes nothing (this includes a lease that expired: its holder lost the lock and must
	// know). Idempotent: a repeated Release of the same token answers OK with released = false
	// for at least 60 s.
	Release(context.Context, *ReleaseRequest) (*ReleaseResponse, error)
	// OpenSession grants one lease for a client process. Locks acquired with its session_id
	// live as long as the session; one KeepAlive of the session renews all of them, so renewal
	// traffic grows with processes, not with locks. While such an Acquire queues, its slot
	// lives on a short lease the serving coordinator renews, so a coordinator that dies leaves
	// no slot behind; once granted, the lock lives on the session's lease.
	OpenSession(context.Context, *OpenSessionRequest) (*OpenSessionResponse, error)
	// CloseSession ends a session and frees every lock it holds at once; its queued Acquires
	// end with NOT_FOUND within a few seconds (their slots live on leases of their own).
	// Idempotent.
	CloseSession(context.Context, *CloseSessionRequest) (*CloseSessionResponse, error)
	// Status lists holders and waiters of one key, of keys with a prefix, or of all keys.
	Status(context.Context, *StatusRequest) (*StatusResponse, error)
	// Stream carries calls of the methods above as messages on one long-lived bidirectional
	// stream, for clients that make many calls: a message costs the server about a third of a
	// unary call. Each StreamRequest is one call (or cancels one), answered by exactly one
	// StreamResponse with the same call_id. A call on the stream means exactly what the same
	// unary call means: same validation, outcomes, status codes, retries by request_id, quotas
	// and metrics. Unary stays the simple path (grpcurl, raw callers, other languages).
	//
	// Ordering: frames are read in the order sent and each call starts when its frame is read,
	//
	//	but calls run concurrently and answer when done, in any order: match them by call_id.
	//	As with concurrent unary calls, two Acquires in flight at once have no queue order
	//	between them; send the second after the first answered if order matters.
	//
	// Deadlines: per call, `StreamRequest.timeout` (unset: none, like a unary call without a
	//
	//	deadline). It bounds the call as a gRPC deadline does (a queued Acquire answers `busy`
	//	just before it); past it the call answers DEADLINE_EXCEEDED. The stream itself has no
	//	deadline; set none on it.
	//
	// Cancellation: a frame with `cancel` set cancels the call with that call_id, as a cancelled
	//
	//	unary call: a queued Acquire leaves the queue at once. The call then answers CANCELLED
	//	(or its result, if it finished first). A cancel for a call_id not in flight is ignored.
	//
	// A broken stream (disconnect, server shutdown, the client ending it): every call still in
	//
	//	flight is cancelled as above. Its answer is lost like a lost unary response: a grant may
	//	have happened (Acquire: retry with the same request_id, on a new stream or unary, to get
	//	the same lease back; a queued slot is gone); KeepAlive and Release are safe to repeat.
	//	A server that is shutting down answers new calls UNAVAILABLE and lets calls in flight
	//	finish within its grace period; clients move to another stream (or replica).
	//
	// Flow control: HTTP/2's, for the stream as a whole. At most the server's per-stream limit
	//
	//	of calls (max_stream_calls, default 1000) are in flight at once; a call beyond it is
	//	answered RESOURCE_EXHAUSTED naming "max_stream_calls", with nothing done, and the stream
	//	stays open. A call_id already in flight, 0, or a frame with no call answers
	//	INVALID_ARGUMENT naming the field. A frame that is not a StreamRequest at all ends the
	//	stream with INVALID_ARGUMENT (there is no call_id to answer).
	//
	// Authentication: the stream's own metadata carries the credential (`authorization`, or the
	//
	//	TLS client certificate), checked when the stream opens (a bad one ends the stream with
	//	UNAUTHENTICATED) and again for each call, so that an expired JWT or a revoked key stops
	//	working on open streams too. The tenant is fixed when the stream opens; a credential
	//	that later maps to another tenant is refused (PERMISSION_DENIED). The caller's role is
	//	checked per call: a viewer's Acquire answers PERMISSION_DENIED, its Status succeeds.
	//	Credentials in `headers` are ignored.
	Stream(grpc.BidiStreamingServer[StreamRequest, StreamResponse]) error
	// ForceRelease (role admin, auth on only) frees a key that a tenant's holder does not
	// release, e.g. a stuck worker with a long TTL. Its holder's next KeepAlive answers NOT_FOUND
	// and the next waiter is granted. Every call is written to the audit log with `reason`.
	// NOT_FOUND if nobody holds the key. Without auth it answers PERMISSION_DENIED.
	ForceRelease(context.Context, *ForceReleaseRequest) (*ForceReleaseResponse, error)
	// Watch streams the lock events of one key or of keys with a prefix: a snapshot of their
	// current holders and waiters, then every change as it happens. Roles: locker, viewer and
	// admin of a tenant (keys without the tenant prefix); admin across tenants as Status.
	//
	// Stream: [CURSOR_TOO_OLD] snapshot events (snapshot = true: GRANTED for holders, QUEUED
	// for waiters, keys ascending, each key in queue order) SNAPSHOT_END, then changes. With a
	// resumable `cursor` there is no snapshot: the changes after it follow directly.
	//
	// Ordering: events carry the store's history position (`revision`: the etcd revision, or
	// the embedded store's revision). Events arrive in revision order; those of one revision
	// (e.g. every lock of a session whose lease lapsed) in one fixed order. So the events of one
	// key arrive in the order they happened, and every replica sends the same events with the
	// same cursors: an event written through replica A is seen by a watcher on replica B.
	//
	// Cursors: every event has one; Watch(cursor = the last one received) resumes right after
	// that event, on any replica, with no gap and no duplicate. A cursor the store no longer
	// has history for (etcd compacted it; beyond the embedded store's 100,000 recent changes;
	// another etcd cluster; an embedded store since restarted) answers CURSOR_TOO_OLD and a
	// fresh snapshot instead: drop what you knew and rebuild from it.
	//
	// Limits: at most --max-watchers (default 1000) watchers per replica, beyond that
	// RESOURCE_EXHAUSTED "max_watchers: ..."; a watcher that falls --watch-buffer (default
	// 10,000) events behind is ended with RESOURCE_EXHAUSTED "watch_buffer: ..." instead of
	// growing the coordinator's memory: resume with its last cursor. While etcd is unreachable
	// no events arrive (the stream stays open) and they follow, in order, once it returns; a
	// Watch opened while this replica has never read etcd answers UNAVAILABLE within 5 s.
	// A malformed cursor is INVALID_ARGUMENT naming `cursor`.
	//
	// Each WatchResponse carries one or more events (a snapshot in chunks; changes as many as
	// were ready when the message was sent): batching keeps the cost per event low when many
	// watchers follow busy keys. Treat the stream as one sequence of events.
	Watch(*WatchRequest, grpc.ServerStreamingServer[WatchResponse]) error
	mustEmbedUnimplementedLockServiceServer()
}

// UnimplementedLockServiceServer must be embedded to have
// forward compatible implementations.
//
// NOTE: this should be embedded by value instead of pointer to avoid a nil
// pointer dereference when methods are called.
type UnimplementedLockServiceServer struct{}

func (UnimplementedLockServiceServer) Acquire(context.Context, *AcquireRequest) (*AcquireResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method Acquire not implemented")
}
func (UnimplementedLockServiceServer) KeepAlive(context.Context, *KeepAliveRequest) (*KeepAliveResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method KeepAlive not implemented")
}
func (UnimplementedLockServiceServer) Release(context.Context, *ReleaseRequest) (*ReleaseResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method Release not implemented")
}
func (UnimplementedLockServiceServer) OpenSession(context.Context, *OpenSessionRequest) (*OpenSessionResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method OpenSession not implemented")
}
func (UnimplementedLockServiceServer) CloseSession(context.Context, *CloseSessionRequest) (*CloseSessionResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method CloseSession not implemented")
}
func (UnimplementedLockServiceServer) Status(context.Context, *StatusRequest) (*StatusResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method Status not implemented")
}
func (UnimplementedLockServiceServer) Stream(grpc.BidiStreamingServer[StreamRequest, StreamResponse]) error {
	return status.Error(codes.Unimplemented, "method Stream not implemented")
}
func (UnimplementedLockServiceServer) ForceRelease(context.Context, *ForceReleaseRequest) (*ForceReleaseResponse, error) {
	return nil, status.Error(codes.Unimplemented, "method ForceRelease not implemented")
}
func (UnimplementedLockServiceServer) Watch(*WatchRequest, grpc.ServerStreamingServer[WatchResponse]) error {
	return status.Error(codes.Unimplemented, "method Watch not implemented")
}
func (UnimplementedLockServiceServer) mustEmbedUnimplementedLockServiceServer() {}
func (UnimplementedLockServiceServer) testEmbeddedByValue()                     {}

// UnsafeLockServiceServer may be embedded to opt out of forward compatibility for this service.
// Use of this interface is not recommended, as added methods to LockServiceServer will
// result in compilation errors.
type UnsafeLockServiceServer interface {
	mustEmbedUnimplementedLockServiceServer()
}

func RegisterLockServiceServer(s grpc.ServiceRegistrar, srv LockServiceServer) {
	// If the following call panics, it indicates UnimplementedLockServiceServer was
	// embedded by pointer and is nil.  This will cause panics if an
	// unimplemented method is ever invoked, so we test this at initialization
	// time to prevent it from happening at runtime later due to I/O.
	if t, ok := srv.(interface{ testEmbeddedByValue() }); ok {
		t.testEmbeddedByValue()
	}
	s.RegisterService(&LockService_ServiceDesc, srv)
}

func _LockService_Acquire_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(AcquireRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(LockServiceServer).Acquire(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: LockService_Acquire_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(LockServiceServer).Acquire(ctx, req.(*AcquireRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _LockService_KeepAlive_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(KeepAliveRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(LockServiceServer).KeepAlive(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: LockService_KeepAlive_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(LockServiceServer).KeepAlive(ctx, req.(*KeepAliveRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _LockService_Release_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(ReleaseRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(LockServiceServer).Release(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: LockService_Release_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(LockServiceServer).Release(ctx, req.(*ReleaseRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _LockService_OpenSession_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(OpenSessionRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(LockServiceServer).OpenSession(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: LockService_OpenSession_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(LockServiceServer).OpenSession(ctx, req.(*OpenSessionRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _LockService_CloseSession_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(CloseSessionRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(LockServiceServer).CloseSession(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: LockService_CloseSession_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(LockServiceServer).CloseSession(ctx, req.(*CloseSessionRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _LockService_Status_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(StatusRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(LockServiceServer).Status(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: LockService_Status_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(LockServiceServer).Status(ctx, req.(*StatusRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _LockService_Stream_Handler(srv interface{}, stream grpc.ServerStream) error {
	return srv.(LockServiceServer).Stream(&grpc.GenericServerStream[StreamRequest, StreamResponse]{ServerStream: stream})
}

// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.
type LockService_StreamServer = grpc.BidiStreamingServer[StreamRequest, StreamResponse]

func _LockService_ForceRelease_Handler(srv interface{}, ctx context.Context, dec func(interface{}) error, interceptor grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(ForceReleaseRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(LockServiceServer).ForceRelease(ctx, in)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: LockService_ForceRelease_FullMethodName,
	}
	handler := func(ctx context.Context, req interface{}) (interface{}, error) {
		return srv.(LockServiceServer).ForceRelease(ctx, req.(*ForceReleaseRequest))
	}
	return interceptor(ctx, in, info, handler)
}

func _LockService_Watch_Handler(srv interface{}, stream grpc.ServerStream) error {
	m := new(WatchRequest)
	if err := stream.RecvMsg(m); err != nil {
		return err
	}
	return srv.(LockServiceServer).Watch(m, &grpc.GenericServerStream[WatchRequest, WatchResponse]{ServerStream: stream})
}

// This type alias is provided for backwards compatibility with existing code that references the prior non-generic stream type by name.
type LockService_WatchServer = grpc.ServerStreamingServer[WatchResponse]

// LockService_ServiceDesc is the grpc.ServiceDesc for LockService service.
// It's only intended for direct use with grpc.RegisterService,
// and not to be introspected or modified (even as a copy)
var LockService_ServiceDesc = grpc.ServiceDesc{
	ServiceName: "threadlock.v1.LockService",
	HandlerType: (*LockServiceServer)(nil),
	Methods: []grpc.MethodDesc{
		{
			MethodName: "Acquire",
			Handler:    _LockService_Acquire_Handler,
		},
		{
			MethodName: "KeepAlive",
			Handler:    _LockService_KeepAlive_Handler,
		},
		{
			MethodName: "Release",
			Handler:    _LockService_Release_Handler,
		},
		{
			MethodName: "OpenSession",
			Handler:    _LockService_OpenSession_Handler,
		},
		{
			MethodName: "CloseSession",
			Handler:    _LockService_CloseSession_Handler,
		},
		{
			MethodName: "Status",
			Handler:    _LockService_Status_Handler,
		},
		{
			MethodName: "ForceRelease",
			Handler:    _LockService_ForceRelease_Handler,
		},
	},
	Streams: []grpc.StreamDesc{
		{
			StreamName:    "Stream",
			Handler:       _LockService_Stream_Handler,
			ServerStreams: true,
			ClientStreams: true,
		},
		{
			StreamName:    "Watch",
			Handler:       _LockService_Watch_Handler,
			ServerStreams: true,
		},
	},
	Metadata: "threadlock/v1/lock.proto",
}
