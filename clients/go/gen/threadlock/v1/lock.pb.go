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

// Code generated by protoc-gen-go. DO NOT EDIT.
// versions:
// 	protoc-gen-go v1.36.11
// 	protoc        (unknown)
// source: threadlock/v1/lock.proto

package threadlockv1

import (
	protoreflect "google.golang.org/protobuf/reflect/protoreflect"
	protoimpl "google.golang.org/protobuf/runtime/protoimpl"
	durationpb "google.golang.org/protobuf/types/known/durationpb"
	timestamppb "google.golang.org/protobuf/types/known/timestamppb"
	reflect "reflect"
	sync "sync"
	unsafe "unsafe"
)

const (
	// Verify that this generated code is sufficiently up-to-date.
	_ = protoimpl.EnforceVersion(20 - protoimpl.MinVersion)
	// Verify that runtime/protoimpl is sufficiently up-to-date.
	_ = protoimpl.EnforceVersion(protoimpl.MaxVersion - 20)
)

type WatchEvent_Kind int32

const (
	WatchEvent_KIND_UNSPECIFIED WatchEvent_Kind = 0
	// A contender holds the key now: granted at once, or first in the queue and claimed.
	// Snapshot: a current holder.
	WatchEvent_KIND_GRANTED WatchEvent_Kind = 1
	// The holder gave the key back with Release (or an admin's ForceRelease).
	WatchEvent_KIND_RELEASED WatchEvent_Kind = 2
	// The holder's lease ended without a Release: its TTL lapsed, its session was closed or
	// lapsed, or its Acquire was abandoned right after the grant. On etcd a Release deletes
	// the lock and writes a release marker (a tombstone) in one transaction; a deletion with
	// no marker in the same revision is an expiry, so every replica tells them apart alike.
	WatchEvent_KIND_EXPIRED WatchEvent_Kind = 3
	// A contender joined the key's queue. Snapshot: a current waiter. A session's queued
	// Acquire shows as QUEUED until it is moved onto its session's lease (then GRANTED), even
	// when it was first in line.
	WatchEvent_KIND_QUEUED WatchEvent_Kind = 4
	// A waiter left the queue without being granted: cancelled, timed out, disconnected, or
	// its lease lapsed.
	WatchEvent_KIND_LEFT_QUEUE WatchEvent_Kind = 5
	// The holder's metadata changed (KeepAlive with metadata): `metadata` is the new value.
	WatchEvent_KIND_METADATA_CHANGED WatchEvent_Kind = 6
	// The snapshot is complete; changes follow. Carries no key.
	WatchEvent_KIND_SNAPSHOT_END WatchEvent_Kind = 7
	// The request's cursor cannot be resumed (see Watch): a fresh snapshot follows. Carries
	// no key.
	WatchEvent_KIND_CURSOR_TOO_OLD WatchEvent_Kind = 8
)

// Enum value maps for WatchEvent_Kind.
var (
	WatchEvent_Kind_name = map[int32]string{
		0: "KIND_UNSPECIFIED",
		1: "KIND_GRANTED",
		2: "KIND_RELEASED",
		3: "KIND_EXPIRED",
		4: "KIND_QUEUED",
		5: "KIND_LEFT_QUEUE",
		6: "KIND_METADATA_CHANGED",
		7: "KIND_SNAPSHOT_END",
		8: "KIND_CURSOR_TOO_OLD",
	}
	WatchEvent_Kind_value = map[string]int32{
		"KIND_UNSPECIFIED":      0,
		"KIND_GRANTED":          1,
		"KIND_RELEASED":         2,
		"KIND_EXPIRED":          3,
		"KIND_QUEUED":           4,
		"KIND_LEFT_QUEUE":       5,
		"KIND_METADATA_CHANGED": 6,
		"KIND_SNAPSHOT_END":     7,
		"KIND_CURSOR_TOO_OLD":   8,
	}
)

func (x WatchEvent_Kind) Enum() *WatchEvent_Kind {
	p := new(WatchEvent_Kind)
	*p = x
	return p
}

func (x WatchEvent_Kind) String() string {
	return protoimpl.X.EnumStringOf(x.Descriptor(), protoreflect.EnumNumber(x))
}

func (WatchEvent_Kind) Descriptor() protoreflect.EnumDescriptor {
	return file_threadlock_v1_lock_proto_enumTypes[0].Descriptor()
}

func (WatchEvent_Kind) Type() protoreflect.EnumType {
	return &file_threadlock_v1_lock_proto_enumTypes[0]
}

func (x WatchEvent_Kind) Number() protoreflect.EnumNumber {
	return protoreflect.EnumNumber(x)
}

// Deprecated: Use WatchEvent_Kind.Descriptor instead.
func (WatchEvent_Kind) EnumDescriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{25, 0}
}

type AcquireRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The key to lock: 1-512 bytes of UTF-8 without control characters.
	Key string `protobuf:"bytes,1,opt,name=key,proto3" json:"key,omitempty"`
	// Who asks, for humans and Status: "worker-3@pod-a". 1-256 bytes, no control characters.
	Owner string `protobuf:"bytes,2,opt,name=owner,proto3" json:"owner,omitempty"`
	// Lease TTL (whole seconds, see "Time"). Required unless session_id is set; must be unset
	// when it is (the session's TTL applies).
	Ttl *durationpb.Duration `protobuf:"bytes,3,opt,name=ttl,proto3" json:"ttl,omitempty"`
	// How long to queue: unset or 0 = try once; at most the server's max_wait (default 600 s).
	Wait *durationpb.Duration `protobuf:"bytes,4,opt,name=wait,proto3" json:"wait,omitempty"`
	// Idempotency key, 1-128 bytes, unique per logical acquire. Optional but recommended: a
	// retry after a lost response or UNAVAILABLE is only safe with it.
	RequestId string `protobuf:"bytes,5,opt,name=request_id,json=requestId,proto3" json:"request_id,omitempty"`
	// Small annotations shown by Status, e.g. {"run_id": "run_123"}: at most 16 entries, keys
	// 1-64 bytes, values up to 1024 bytes.
	Metadata map[string]string `protobuf:"bytes,6,rep,name=metadata,proto3" json:"metadata,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	// Acquire under this session's lease instead of a lease of its own.
	SessionId     string `protobuf:"bytes,7,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *AcquireRequest) Reset() {
	*x = AcquireRequest{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[0]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *AcquireRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*AcquireRequest) ProtoMessage() {}

func (x *AcquireRequest) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[0]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use AcquireRequest.ProtoReflect.Descriptor instead.
func (*AcquireRequest) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{0}
}

func (x *AcquireRequest) GetKey() string {
	if x != nil {
		return x.Key
	}
	return ""
}

func (x *AcquireRequest) GetOwner() string {
	if x != nil {
		return x.Owner
	}
	return ""
}

func (x *AcquireRequest) GetTtl() *durationpb.Duration {
	if x != nil {
		return x.Ttl
	}
	return nil
}

func (x *AcquireRequest) GetWait() *durationpb.Duration {
	if x != nil {
		return x.Wait
	}
	return nil
}

func (x *AcquireRequest) GetRequestId() string {
	if x != nil {
		return x.RequestId
	}
	return ""
}

func (x *AcquireRequest) GetMetadata() map[string]string {
	if x != nil {
		return x.Metadata
	}
	return nil
}

func (x *AcquireRequest) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

type AcquireResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Types that are valid to be assigned to Result:
	//
	//	*AcquireResponse_Lease
	//	*AcquireResponse_Busy
	Result        isAcquireResponse_Result `protobuf_oneof:"result"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *AcquireResponse) Reset() {
	*x = AcquireResponse{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[1]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *AcquireResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*AcquireResponse) ProtoMessage() {}

func (x *AcquireResponse) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[1]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use AcquireResponse.ProtoReflect.Descriptor instead.
func (*AcquireResponse) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{1}
}

func (x *AcquireResponse) GetResult() isAcquireResponse_Result {
	if x != nil {
		return x.Result
	}
	return nil
}

func (x *AcquireResponse) GetLease() *Lease {
	if x != nil {
		if x, ok := x.Result.(*AcquireResponse_Lease); ok {
			return x.Lease
		}
	}
	return nil
}

func (x *AcquireResponse) GetBusy() *Busy {
	if x != nil {
		if x, ok := x.Result.(*AcquireResponse_Busy); ok {
			return x.Busy
		}
	}
	return nil
}

type isAcquireResponse_Result interface {
	isAcquireResponse_Result()
}

type AcquireResponse_Lease struct {
	// The key is yours.
	Lease *Lease `protobuf:"bytes,1,opt,name=lease,proto3,oneof"`
}

type AcquireResponse_Busy struct {
	// Someone else holds it (and the wait, if any, elapsed).
	Busy *Busy `protobuf:"bytes,2,opt,name=busy,proto3,oneof"`
}

func (*AcquireResponse_Lease) isAcquireResponse_Result() {}

func (*AcquireResponse_Busy) isAcquireResponse_Result() {}

// A granted lock.
type Lease struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	Key   string                 `protobuf:"bytes,1,opt,name=key,proto3" json:"key,omitempty"`
	Owner string                 `protobuf:"bytes,2,opt,name=owner,proto3" json:"owner,omitempty"`
	// Opaque; KeepAlive and Release take it. Treat it as a secret: it releases the lock.
	LeaseToken string `protobuf:"bytes,3,opt,name=lease_token,json=leaseToken,proto3" json:"lease_token,omitempty"`
	// Strictly increases on every grant of this key. Hand it to the protected resource.
	FencingToken int64                  `protobuf:"varint,4,opt,name=fencing_token,json=fencingToken,proto3" json:"fencing_token,omitempty"`
	AcquiredAt   *timestamppb.Timestamp `protobuf:"bytes,5,opt,name=acquired_at,json=acquiredAt,proto3" json:"acquired_at,omitempty"`
	// When the lease lapses unless renewed (or unless its session is renewed).
	ExpiresAt *timestamppb.Timestamp `protobuf:"bytes,6,opt,name=expires_at,json=expiresAt,proto3" json:"expires_at,omitempty"`
	// The lease TTL in force (whole seconds).
	Ttl      *durationpb.Duration `protobuf:"bytes,7,opt,name=ttl,proto3" json:"ttl,omitempty"`
	Metadata map[string]string    `protobuf:"bytes,8,rep,name=metadata,proto3" json:"metadata,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	// Set when the lock lives under a session.
	SessionId string `protobuf:"bytes,9,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	// The lease lasts at least this long counted from when the coordinator received this
	// Acquire (the time it queued included), on the coordinator's monotonic clock. A client
	// adds it to the moment it SENT the request to get a conservative expiry on its own clock,
	// with no wall-clock skew, that stays right when the answer arrives late (a paused client,
	// a slow network, a retried call): an answer that arrives after that moment carries a
	// lease that may already have lapsed, so the client must not use it (release it and
	// acquire again). Unset from coordinators older than this field.
	ValidFor      *durationpb.Duration `protobuf:"bytes,10,opt,name=valid_for,json=validFor,proto3" json:"valid_for,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *Lease) Reset() {
	*x = Lease{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[2]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *Lease) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*Lease) ProtoMessage() {}

func (x *Lease) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[2]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use Lease.ProtoReflect.Descriptor instead.
func (*Lease) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{2}
}

func (x *Lease) GetKey() string {
	if x != nil {
		return x.Key
	}
	return ""
}

func (x *Lease) GetOwner() string {
	if x != nil {
		return x.Owner
	}
	return ""
}

func (x *Lease) GetLeaseToken() string {
	if x != nil {
		return x.LeaseToken
	}
	return ""
}

func (x *Lease) GetFencingToken() int64 {
	if x != nil {
		return x.FencingToken
	}
	return 0
}

func (x *Lease) GetAcquiredAt() *timestamppb.Timestamp {
	if x != nil {
		return x.AcquiredAt
	}
	return nil
}

func (x *Lease) GetExpiresAt() *timestamppb.Timestamp {
	if x != nil {
		return x.ExpiresAt
	}
	return nil
}

func (x *Lease) GetTtl() *durationpb.Duration {
	if x != nil {
		return x.Ttl
	}
	return nil
}

func (x *Lease) GetMetadata() map[string]string {
	if x != nil {
		return x.Metadata
	}
	return nil
}

func (x *Lease) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *Lease) GetValidFor() *durationpb.Duration {
	if x != nil {
		return x.ValidFor
	}
	return nil
}

// The key is held by someone else.
type Busy struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	Key   string                 `protobuf:"bytes,1,opt,name=key,proto3" json:"key,omitempty"`
	// The holder: owner, since when, until when, fencing token, metadata.
	Holder *Holder `protobuf:"bytes,2,opt,name=holder,proto3" json:"holder,omitempty"`
	// How many callers queue for the key (not counting the holder).
	Waiters int32 `protobuf:"varint,3,opt,name=waiters,proto3" json:"waiters,omitempty"`
	// How long this call waited before giving up (0 for a try-once call).
	Waited *durationpb.Duration `protobuf:"bytes,4,opt,name=waited,proto3" json:"waited,omitempty"`
	// A sentence for an end user, e.g. "Conversation conv_1 is busy with another request
	// (held by worker-3@pod-a for 12s). Please wait for it to finish and try again."
	Message       string `protobuf:"bytes,5,opt,name=message,proto3" json:"message,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *Busy) Reset() {
	*x = Busy{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[3]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *Busy) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*Busy) ProtoMessage() {}

func (x *Busy) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[3]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use Busy.ProtoReflect.Descriptor instead.
func (*Busy) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{3}
}

func (x *Busy) GetKey() string {
	if x != nil {
		return x.Key
	}
	return ""
}

func (x *Busy) GetHolder() *Holder {
	if x != nil {
		return x.Holder
	}
	return nil
}

func (x *Busy) GetWaiters() int32 {
	if x != nil {
		return x.Waiters
	}
	return 0
}

func (x *Busy) GetWaited() *durationpb.Duration {
	if x != nil {
		return x.Waited
	}
	return nil
}

func (x *Busy) GetMessage() string {
	if x != nil {
		return x.Message
	}
	return ""
}

type Holder struct {
	state        protoimpl.MessageState `protogen:"open.v1"`
	Owner        string                 `protobuf:"bytes,1,opt,name=owner,proto3" json:"owner,omitempty"`
	FencingToken int64                  `protobuf:"varint,2,opt,name=fencing_token,json=fencingToken,proto3" json:"fencing_token,omitempty"`
	AcquiredAt   *timestamppb.Timestamp `protobuf:"bytes,3,opt,name=acquired_at,json=acquiredAt,proto3" json:"acquired_at,omitempty"`
	ExpiresAt    *timestamppb.Timestamp `protobuf:"bytes,4,opt,name=expires_at,json=expiresAt,proto3" json:"expires_at,omitempty"`
	// Derived for convenience: now - acquired_at and expires_at - now, at the server's clock.
	HeldFor       *durationpb.Duration `protobuf:"bytes,5,opt,name=held_for,json=heldFor,proto3" json:"held_for,omitempty"`
	ExpiresIn     *durationpb.Duration `protobuf:"bytes,6,opt,name=expires_in,json=expiresIn,proto3" json:"expires_in,omitempty"`
	Metadata      map[string]string    `protobuf:"bytes,7,rep,name=metadata,proto3" json:"metadata,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *Holder) Reset() {
	*x = Holder{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[4]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *Holder) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*Holder) ProtoMessage() {}

func (x *Holder) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[4]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use Holder.ProtoReflect.Descriptor instead.
func (*Holder) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{4}
}

func (x *Holder) GetOwner() string {
	if x != nil {
		return x.Owner
	}
	return ""
}

func (x *Holder) GetFencingToken() int64 {
	if x != nil {
		return x.FencingToken
	}
	return 0
}

func (x *Holder) GetAcquiredAt() *timestamppb.Timestamp {
	if x != nil {
		return x.AcquiredAt
	}
	return nil
}

func (x *Holder) GetExpiresAt() *timestamppb.Timestamp {
	if x != nil {
		return x.ExpiresAt
	}
	return nil
}

func (x *Holder) GetHeldFor() *durationpb.Duration {
	if x != nil {
		return x.HeldFor
	}
	return nil
}

func (x *Holder) GetExpiresIn() *durationpb.Duration {
	if x != nil {
		return x.ExpiresIn
	}
	return nil
}

func (x *Holder) GetMetadata() map[string]string {
	if x != nil {
		return x.Metadata
	}
	return nil
}

type Waiter struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	Owner string                 `protobuf:"bytes,1,opt,name=owner,proto3" json:"owner,omitempty"`
	// 1 = next in line.
	Position      int32                  `protobuf:"varint,2,opt,name=position,proto3" json:"position,omitempty"`
	QueuedAt      *timestamppb.Timestamp `protobuf:"bytes,3,opt,name=queued_at,json=queuedAt,proto3" json:"queued_at,omitempty"`
	Metadata      map[string]string      `protobuf:"bytes,4,rep,name=metadata,proto3" json:"metadata,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *Waiter) Reset() {
	*x = Waiter{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[5]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *Waiter) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*Waiter) ProtoMessage() {}

func (x *Waiter) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[5]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use Waiter.ProtoReflect.Descriptor instead.
func (*Waiter) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{5}
}

func (x *Waiter) GetOwner() string {
	if x != nil {
		return x.Owner
	}
	return ""
}

func (x *Waiter) GetPosition() int32 {
	if x != nil {
		return x.Position
	}
	return 0
}

func (x *Waiter) GetQueuedAt() *timestamppb.Timestamp {
	if x != nil {
		return x.QueuedAt
	}
	return nil
}

func (x *Waiter) GetMetadata() map[string]string {
	if x != nil {
		return x.Metadata
	}
	return nil
}

type KeepAliveRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Types that are valid to be assigned to Target:
	//
	//	*KeepAliveRequest_LeaseToken
	//	*KeepAliveRequest_SessionId
	Target isKeepAliveRequest_Target `protobuf_oneof:"target"`
	// Optional, with lease_token only: merged into the lock's metadata while renewing, so Status
	// shows what the holder is doing now (e.g. {"response_id": "resp_1"}). An empty value
	// deletes that key; the merged map obeys Acquire's metadata limits. Omit it to only renew.
	Metadata      map[string]string `protobuf:"bytes,3,rep,name=metadata,proto3" json:"metadata,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *KeepAliveRequest) Reset() {
	*x = KeepAliveRequest{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[6]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *KeepAliveRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*KeepAliveRequest) ProtoMessage() {}

func (x *KeepAliveRequest) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[6]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use KeepAliveRequest.ProtoReflect.Descriptor instead.
func (*KeepAliveRequest) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{6}
}

func (x *KeepAliveRequest) GetTarget() isKeepAliveRequest_Target {
	if x != nil {
		return x.Target
	}
	return nil
}

func (x *KeepAliveRequest) GetLeaseToken() string {
	if x != nil {
		if x, ok := x.Target.(*KeepAliveRequest_LeaseToken); ok {
			return x.LeaseToken
		}
	}
	return ""
}

func (x *KeepAliveRequest) GetSessionId() string {
	if x != nil {
		if x, ok := x.Target.(*KeepAliveRequest_SessionId); ok {
			return x.SessionId
		}
	}
	return ""
}

func (x *KeepAliveRequest) GetMetadata() map[string]string {
	if x != nil {
		return x.Metadata
	}
	return nil
}

type isKeepAliveRequest_Target interface {
	isKeepAliveRequest_Target()
}

type KeepAliveRequest_LeaseToken struct {
	// Renew one lock's own lease.
	LeaseToken string `protobuf:"bytes,1,opt,name=lease_token,json=leaseToken,proto3,oneof"`
}

type KeepAliveRequest_SessionId struct {
	// Renew a session (and with it every lock under it).
	SessionId string `protobuf:"bytes,2,opt,name=session_id,json=sessionId,proto3,oneof"`
}

func (*KeepAliveRequest_LeaseToken) isKeepAliveRequest_Target() {}

func (*KeepAliveRequest_SessionId) isKeepAliveRequest_Target() {}

type KeepAliveResponse struct {
	state         protoimpl.MessageState `protogen:"open.v1"`
	ExpiresAt     *timestamppb.Timestamp `protobuf:"bytes,1,opt,name=expires_at,json=expiresAt,proto3" json:"expires_at,omitempty"`
	Ttl           *durationpb.Duration   `protobuf:"bytes,2,opt,name=ttl,proto3" json:"ttl,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *KeepAliveResponse) Reset() {
	*x = KeepAliveResponse{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[7]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *KeepAliveResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*KeepAliveResponse) ProtoMessage() {}

func (x *KeepAliveResponse) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[7]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use KeepAliveResponse.ProtoReflect.Descriptor instead.
func (*KeepAliveResponse) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{7}
}

func (x *KeepAliveResponse) GetExpiresAt() *timestamppb.Timestamp {
	if x != nil {
		return x.ExpiresAt
	}
	return nil
}

func (x *KeepAliveResponse) GetTtl() *durationpb.Duration {
	if x != nil {
		return x.Ttl
	}
	return nil
}

type ReleaseRequest struct {
	state         protoimpl.MessageState `protogen:"open.v1"`
	LeaseToken    string                 `protobuf:"bytes,1,opt,name=lease_token,json=leaseToken,proto3" json:"lease_token,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ReleaseRequest) Reset() {
	*x = ReleaseRequest{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[8]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ReleaseRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ReleaseRequest) ProtoMessage() {}

func (x *ReleaseRequest) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[8]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ReleaseRequest.ProtoReflect.Descriptor instead.
func (*ReleaseRequest) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{8}
}

func (x *ReleaseRequest) GetLeaseToken() string {
	if x != nil {
		return x.LeaseToken
	}
	return ""
}

type ReleaseResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// true: this call released the lock (or left the queue). false: an earlier call already did.
	Released      bool `protobuf:"varint,1,opt,name=released,proto3" json:"released,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ReleaseResponse) Reset() {
	*x = ReleaseResponse{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[9]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ReleaseResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ReleaseResponse) ProtoMessage() {}

func (x *ReleaseResponse) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[9]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ReleaseResponse.ProtoReflect.Descriptor instead.
func (*ReleaseResponse) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{9}
}

func (x *ReleaseResponse) GetReleased() bool {
	if x != nil {
		return x.Released
	}
	return false
}

type OpenSessionRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Who owns the session: "billing-worker@pod-a". Same rules as AcquireRequest.owner.
	Owner string `protobuf:"bytes,1,opt,name=owner,proto3" json:"owner,omitempty"`
	// Session TTL; same bounds as a lease TTL. Renew every ttl/3.
	Ttl           *durationpb.Duration `protobuf:"bytes,2,opt,name=ttl,proto3" json:"ttl,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *OpenSessionRequest) Reset() {
	*x = OpenSessionRequest{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[10]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *OpenSessionRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*OpenSessionRequest) ProtoMessage() {}

func (x *OpenSessionRequest) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[10]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use OpenSessionRequest.ProtoReflect.Descriptor instead.
func (*OpenSessionRequest) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{10}
}

func (x *OpenSessionRequest) GetOwner() string {
	if x != nil {
		return x.Owner
	}
	return ""
}

func (x *OpenSessionRequest) GetTtl() *durationpb.Duration {
	if x != nil {
		return x.Ttl
	}
	return nil
}

type OpenSessionResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Opaque; pass it to Acquire, KeepAlive and CloseSession.
	SessionId     string                 `protobuf:"bytes,1,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	ExpiresAt     *timestamppb.Timestamp `protobuf:"bytes,2,opt,name=expires_at,json=expiresAt,proto3" json:"expires_at,omitempty"`
	Ttl           *durationpb.Duration   `protobuf:"bytes,3,opt,name=ttl,proto3" json:"ttl,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *OpenSessionResponse) Reset() {
	*x = OpenSessionResponse{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[11]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *OpenSessionResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*OpenSessionResponse) ProtoMessage() {}

func (x *OpenSessionResponse) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[11]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use OpenSessionResponse.ProtoReflect.Descriptor instead.
func (*OpenSessionResponse) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{11}
}

func (x *OpenSessionResponse) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

func (x *OpenSessionResponse) GetExpiresAt() *timestamppb.Timestamp {
	if x != nil {
		return x.ExpiresAt
	}
	return nil
}

func (x *OpenSessionResponse) GetTtl() *durationpb.Duration {
	if x != nil {
		return x.Ttl
	}
	return nil
}

type CloseSessionRequest struct {
	state         protoimpl.MessageState `protogen:"open.v1"`
	SessionId     string                 `protobuf:"bytes,1,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *CloseSessionRequest) Reset() {
	*x = CloseSessionRequest{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[12]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *CloseSessionRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*CloseSessionRequest) ProtoMessage() {}

func (x *CloseSessionRequest) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[12]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use CloseSessionRequest.ProtoReflect.Descriptor instead.
func (*CloseSessionRequest) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{12}
}

func (x *CloseSessionRequest) GetSessionId() string {
	if x != nil {
		return x.SessionId
	}
	return ""
}

type CloseSessionResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// true: this call ended the session. false: it had already ended.
	Closed        bool `protobuf:"varint,1,opt,name=closed,proto3" json:"closed,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *CloseSessionResponse) Reset() {
	*x = CloseSessionResponse{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[13]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *CloseSessionResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*CloseSessionResponse) ProtoMessage() {}

func (x *CloseSessionResponse) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[13]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use CloseSessionResponse.ProtoReflect.Descriptor instead.
func (*CloseSessionResponse) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{13}
}

func (x *CloseSessionResponse) GetClosed() bool {
	if x != nil {
		return x.Closed
	}
	return false
}

type StatusRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Types that are valid to be assigned to Selector:
	//
	//	*StatusRequest_Key
	//	*StatusRequest_Prefix
	Selector isStatusRequest_Selector `protobuf_oneof:"selector"`
	// Keys per page, 1-1000; 0 means 100.
	PageSize int32 `protobuf:"varint,3,opt,name=page_size,json=pageSize,proto3" json:"page_size,omitempty"`
	// From a previous StatusResponse.next_page_token.
	PageToken     string `protobuf:"bytes,4,opt,name=page_token,json=pageToken,proto3" json:"page_token,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *StatusRequest) Reset() {
	*x = StatusRequest{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[14]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *StatusRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*StatusRequest) ProtoMessage() {}

func (x *StatusRequest) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[14]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use StatusRequest.ProtoReflect.Descriptor instead.
func (*StatusRequest) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{14}
}

func (x *StatusRequest) GetSelector() isStatusRequest_Selector {
	if x != nil {
		return x.Selector
	}
	return nil
}

func (x *StatusRequest) GetKey() string {
	if x != nil {
		if x, ok := x.Selector.(*StatusRequest_Key); ok {
			return x.Key
		}
	}
	return ""
}

func (x *StatusRequest) GetPrefix() string {
	if x != nil {
		if x, ok := x.Selector.(*StatusRequest_Prefix); ok {
			return x.Prefix
		}
	}
	return ""
}

func (x *StatusRequest) GetPageSize() int32 {
	if x != nil {
		return x.PageSize
	}
	return 0
}

func (x *StatusRequest) GetPageToken() string {
	if x != nil {
		return x.PageToken
	}
	return ""
}

type isStatusRequest_Selector interface {
	isStatusRequest_Selector()
}

type StatusRequest_Key struct {
	// Exactly this key.
	Key string `protobuf:"bytes,1,opt,name=key,proto3,oneof"`
}

type StatusRequest_Prefix struct {
	// Every key that starts with this prefix; "" lists everything.
	Prefix string `protobuf:"bytes,2,opt,name=prefix,proto3,oneof"`
}

func (*StatusRequest_Key) isStatusRequest_Selector() {}

func (*StatusRequest_Prefix) isStatusRequest_Selector() {}

type StatusResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Held or queued keys, sorted by key. A key nobody holds or waits for is not listed.
	Locks []*LockState `protobuf:"bytes,1,rep,name=locks,proto3" json:"locks,omitempty"`
	// Empty on the last page.
	NextPageToken string `protobuf:"bytes,2,opt,name=next_page_token,json=nextPageToken,proto3" json:"next_page_token,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *StatusResponse) Reset() {
	*x = StatusResponse{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[15]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *StatusResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*StatusResponse) ProtoMessage() {}

func (x *StatusResponse) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[15]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use StatusResponse.ProtoReflect.Descriptor instead.
func (*StatusResponse) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{15}
}

func (x *StatusResponse) GetLocks() []*LockState {
	if x != nil {
		return x.Locks
	}
	return nil
}

func (x *StatusResponse) GetNextPageToken() string {
	if x != nil {
		return x.NextPageToken
	}
	return ""
}

type LockState struct {
	state  protoimpl.MessageState `protogen:"open.v1"`
	Key    string                 `protobuf:"bytes,1,opt,name=key,proto3" json:"key,omitempty"`
	Holder *Holder                `protobuf:"bytes,2,opt,name=holder,proto3" json:"holder,omitempty"`
	// In the order they will be served.
	Waiters       []*Waiter `protobuf:"bytes,3,rep,name=waiters,proto3" json:"waiters,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *LockState) Reset() {
	*x = LockState{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[16]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *LockState) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*LockState) ProtoMessage() {}

func (x *LockState) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[16]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use LockState.ProtoReflect.Descriptor instead.
func (*LockState) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{16}
}

func (x *LockState) GetKey() string {
	if x != nil {
		return x.Key
	}
	return ""
}

func (x *LockState) GetHolder() *Holder {
	if x != nil {
		return x.Holder
	}
	return nil
}

func (x *LockState) GetWaiters() []*Waiter {
	if x != nil {
		return x.Waiters
	}
	return nil
}

// One call on LockService.Stream (see there), or the cancellation of one.
type StreamRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Chosen by the client: > 0 and unique among its calls in flight on this stream (a counter
	// will do). The answer carries it back; a cancel names it.
	CallId uint64 `protobuf:"varint,1,opt,name=call_id,json=callId,proto3" json:"call_id,omitempty"`
	// This call's deadline, counted from when the server reads the frame. Unset: none.
	Timeout *durationpb.Duration `protobuf:"bytes,2,opt,name=timeout,proto3" json:"timeout,omitempty"`
	// Per-call metadata, as a unary call's gRPC metadata would carry it: e.g. W3C trace context
	// ("traceparent", "tracestate"). Keys are lower case. Never credentials: those travel once,
	// in the stream's own metadata.
	Headers map[string]string `protobuf:"bytes,3,rep,name=headers,proto3" json:"headers,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	// Types that are valid to be assigned to Call:
	//
	//	*StreamRequest_Acquire
	//	*StreamRequest_KeepAlive
	//	*StreamRequest_Release
	//	*StreamRequest_OpenSession
	//	*StreamRequest_CloseSession
	//	*StreamRequest_Status
	//	*StreamRequest_ForceRelease
	//	*StreamRequest_Cancel
	Call          isStreamRequest_Call `protobuf_oneof:"call"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *StreamRequest) Reset() {
	*x = StreamRequest{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[17]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *StreamRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*StreamRequest) ProtoMessage() {}

func (x *StreamRequest) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[17]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use StreamRequest.ProtoReflect.Descriptor instead.
func (*StreamRequest) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{17}
}

func (x *StreamRequest) GetCallId() uint64 {
	if x != nil {
		return x.CallId
	}
	return 0
}

func (x *StreamRequest) GetTimeout() *durationpb.Duration {
	if x != nil {
		return x.Timeout
	}
	return nil
}

func (x *StreamRequest) GetHeaders() map[string]string {
	if x != nil {
		return x.Headers
	}
	return nil
}

func (x *StreamRequest) GetCall() isStreamRequest_Call {
	if x != nil {
		return x.Call
	}
	return nil
}

func (x *StreamRequest) GetAcquire() *AcquireRequest {
	if x != nil {
		if x, ok := x.Call.(*StreamRequest_Acquire); ok {
			return x.Acquire
		}
	}
	return nil
}

func (x *StreamRequest) GetKeepAlive() *KeepAliveRequest {
	if x != nil {
		if x, ok := x.Call.(*StreamRequest_KeepAlive); ok {
			return x.KeepAlive
		}
	}
	return nil
}

func (x *StreamRequest) GetRelease() *ReleaseRequest {
	if x != nil {
		if x, ok := x.Call.(*StreamRequest_Release); ok {
			return x.Release
		}
	}
	return nil
}

func (x *StreamRequest) GetOpenSession() *OpenSessionRequest {
	if x != nil {
		if x, ok := x.Call.(*StreamRequest_OpenSession); ok {
			return x.OpenSession
		}
	}
	return nil
}

func (x *StreamRequest) GetCloseSession() *CloseSessionRequest {
	if x != nil {
		if x, ok := x.Call.(*StreamRequest_CloseSession); ok {
			return x.CloseSession
		}
	}
	return nil
}

func (x *StreamRequest) GetStatus() *StatusRequest {
	if x != nil {
		if x, ok := x.Call.(*StreamRequest_Status); ok {
			return x.Status
		}
	}
	return nil
}

func (x *StreamRequest) GetForceRelease() *ForceReleaseRequest {
	if x != nil {
		if x, ok := x.Call.(*StreamRequest_ForceRelease); ok {
			return x.ForceRelease
		}
	}
	return nil
}

func (x *StreamRequest) GetCancel() *StreamCancel {
	if x != nil {
		if x, ok := x.Call.(*StreamRequest_Cancel); ok {
			return x.Cancel
		}
	}
	return nil
}

type isStreamRequest_Call interface {
	isStreamRequest_Call()
}

type StreamRequest_Acquire struct {
	Acquire *AcquireRequest `protobuf:"bytes,10,opt,name=acquire,proto3,oneof"`
}

type StreamRequest_KeepAlive struct {
	KeepAlive *KeepAliveRequest `protobuf:"bytes,11,opt,name=keep_alive,json=keepAlive,proto3,oneof"`
}

type StreamRequest_Release struct {
	Release *ReleaseRequest `protobuf:"bytes,12,opt,name=release,proto3,oneof"`
}

type StreamRequest_OpenSession struct {
	OpenSession *OpenSessionRequest `protobuf:"bytes,13,opt,name=open_session,json=openSession,proto3,oneof"`
}

type StreamRequest_CloseSession struct {
	CloseSession *CloseSessionRequest `protobuf:"bytes,14,opt,name=close_session,json=closeSession,proto3,oneof"`
}

type StreamRequest_Status struct {
	Status *StatusRequest `protobuf:"bytes,15,opt,name=status,proto3,oneof"`
}

type StreamRequest_ForceRelease struct {
	ForceRelease *ForceReleaseRequest `protobuf:"bytes,16,opt,name=force_release,json=forceRelease,proto3,oneof"`
}

type StreamRequest_Cancel struct {
	// Cancel the call in flight with this call_id.
	Cancel *StreamCancel `protobuf:"bytes,20,opt,name=cancel,proto3,oneof"`
}

func (*StreamRequest_Acquire) isStreamRequest_Call() {}

func (*StreamRequest_KeepAlive) isStreamRequest_Call() {}

func (*StreamRequest_Release) isStreamRequest_Call() {}

func (*StreamRequest_OpenSession) isStreamRequest_Call() {}

func (*StreamRequest_CloseSession) isStreamRequest_Call() {}

func (*StreamRequest_Status) isStreamRequest_Call() {}

func (*StreamRequest_ForceRelease) isStreamRequest_Call() {}

func (*StreamRequest_Cancel) isStreamRequest_Call() {}

// Cancels a call on LockService.Stream (StreamRequest.cancel); it carries nothing else.
type StreamCancel struct {
	state         protoimpl.MessageState `protogen:"open.v1"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *StreamCancel) Reset() {
	*x = StreamCancel{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[18]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *StreamCancel) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*StreamCancel) ProtoMessage() {}

func (x *StreamCancel) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[18]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use StreamCancel.ProtoReflect.Descriptor instead.
func (*StreamCancel) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{18}
}

// The one answer to a call on LockService.Stream: the response a unary call would return, or
// the status it would fail with.
type StreamResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The call_id of the call answered.
	CallId uint64 `protobuf:"varint,1,opt,name=call_id,json=callId,proto3" json:"call_id,omitempty"`
	// Types that are valid to be assigned to Result:
	//
	//	*StreamResponse_Error
	//	*StreamResponse_Acquire
	//	*StreamResponse_KeepAlive
	//	*StreamResponse_Release
	//	*StreamResponse_OpenSession
	//	*StreamResponse_CloseSession
	//	*StreamResponse_Status
	//	*StreamResponse_ForceRelease
	Result        isStreamResponse_Result `protobuf_oneof:"result"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *StreamResponse) Reset() {
	*x = StreamResponse{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[19]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *StreamResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*StreamResponse) ProtoMessage() {}

func (x *StreamResponse) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[19]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use StreamResponse.ProtoReflect.Descriptor instead.
func (*StreamResponse) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{19}
}

func (x *StreamResponse) GetCallId() uint64 {
	if x != nil {
		return x.CallId
	}
	return 0
}

func (x *StreamResponse) GetResult() isStreamResponse_Result {
	if x != nil {
		return x.Result
	}
	return nil
}

func (x *StreamResponse) GetError() *StreamError {
	if x != nil {
		if x, ok := x.Result.(*StreamResponse_Error); ok {
			return x.Error
		}
	}
	return nil
}

func (x *StreamResponse) GetAcquire() *AcquireResponse {
	if x != nil {
		if x, ok := x.Result.(*StreamResponse_Acquire); ok {
			return x.Acquire
		}
	}
	return nil
}

func (x *StreamResponse) GetKeepAlive() *KeepAliveResponse {
	if x != nil {
		if x, ok := x.Result.(*StreamResponse_KeepAlive); ok {
			return x.KeepAlive
		}
	}
	return nil
}

func (x *StreamResponse) GetRelease() *ReleaseResponse {
	if x != nil {
		if x, ok := x.Result.(*StreamResponse_Release); ok {
			return x.Release
		}
	}
	return nil
}

func (x *StreamResponse) GetOpenSession() *OpenSessionResponse {
	if x != nil {
		if x, ok := x.Result.(*StreamResponse_OpenSession); ok {
			return x.OpenSession
		}
	}
	return nil
}

func (x *StreamResponse) GetCloseSession() *CloseSessionResponse {
	if x != nil {
		if x, ok := x.Result.(*StreamResponse_CloseSession); ok {
			return x.CloseSession
		}
	}
	return nil
}

func (x *StreamResponse) GetStatus() *StatusResponse {
	if x != nil {
		if x, ok := x.Result.(*StreamResponse_Status); ok {
			return x.Status
		}
	}
	return nil
}

func (x *StreamResponse) GetForceRelease() *ForceReleaseResponse {
	if x != nil {
		if x, ok := x.Result.(*StreamResponse_ForceRelease); ok {
			return x.ForceRelease
		}
	}
	return nil
}

type isStreamResponse_Result interface {
	isStreamResponse_Result()
}

type StreamResponse_Error struct {
	// The call failed: the gRPC status code and message a unary call would get.
	Error *StreamError `protobuf:"bytes,2,opt,name=error,proto3,oneof"`
}

type StreamResponse_Acquire struct {
	Acquire *AcquireResponse `protobuf:"bytes,10,opt,name=acquire,proto3,oneof"`
}

type StreamResponse_KeepAlive struct {
	KeepAlive *KeepAliveResponse `protobuf:"bytes,11,opt,name=keep_alive,json=keepAlive,proto3,oneof"`
}

type StreamResponse_Release struct {
	Release *ReleaseResponse `protobuf:"bytes,12,opt,name=release,proto3,oneof"`
}

type StreamResponse_OpenSession struct {
	OpenSession *OpenSessionResponse `protobuf:"bytes,13,opt,name=open_session,json=openSession,proto3,oneof"`
}

type StreamResponse_CloseSession struct {
	CloseSession *CloseSessionResponse `protobuf:"bytes,14,opt,name=close_session,json=closeSession,proto3,oneof"`
}

type StreamResponse_Status struct {
	Status *StatusResponse `protobuf:"bytes,15,opt,name=status,proto3,oneof"`
}

type StreamResponse_ForceRelease struct {
	ForceRelease *ForceReleaseResponse `protobuf:"bytes,16,opt,name=force_release,json=forceRelease,proto3,oneof"`
}

func (*StreamResponse_Error) isStreamResponse_Result() {}

func (*StreamResponse_Acquire) isStreamResponse_Result() {}

func (*StreamResponse_KeepAlive) isStreamResponse_Result() {}

func (*StreamResponse_Release) isStreamResponse_Result() {}

func (*StreamResponse_OpenSession) isStreamResponse_Result() {}

func (*StreamResponse_CloseSession) isStreamResponse_Result() {}

func (*StreamResponse_Status) isStreamResponse_Result() {}

func (*StreamResponse_ForceRelease) isStreamResponse_Result() {}

// A call's failure on LockService.Stream, shaped like google.rpc.Status (code and message).
type StreamError struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// A gRPC status code (google.rpc.Code): 3 INVALID_ARGUMENT, 5 NOT_FOUND, 14 UNAVAILABLE, ...
	Code int32 `protobuf:"varint,1,opt,name=code,proto3" json:"code,omitempty"`
	// What the unary call's status message would say, e.g. "ttl: must be between 2s and ...".
	Message       string `protobuf:"bytes,2,opt,name=message,proto3" json:"message,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *StreamError) Reset() {
	*x = StreamError{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[20]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *StreamError) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*StreamError) ProtoMessage() {}

func (x *StreamError) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[20]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use StreamError.ProtoReflect.Descriptor instead.
func (*StreamError) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{20}
}

func (x *StreamError) GetCode() int32 {
	if x != nil {
		return x.Code
	}
	return 0
}

func (x *StreamError) GetMessage() string {
	if x != nil {
		return x.Message
	}
	return ""
}

type ForceReleaseRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// The key as its tenant names it.
	Key string `protobuf:"bytes,1,opt,name=key,proto3" json:"key,omitempty"`
	// The tenant whose key it is.
	Tenant string `protobuf:"bytes,2,opt,name=tenant,proto3" json:"tenant,omitempty"`
	// Why, for the audit log: 1-1024 bytes, e.g. "INC-123: worker stuck since 09:00".
	Reason        string `protobuf:"bytes,3,opt,name=reason,proto3" json:"reason,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ForceReleaseRequest) Reset() {
	*x = ForceReleaseRequest{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[21]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ForceReleaseRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ForceReleaseRequest) ProtoMessage() {}

func (x *ForceReleaseRequest) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[21]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ForceReleaseRequest.ProtoReflect.Descriptor instead.
func (*ForceReleaseRequest) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{21}
}

func (x *ForceReleaseRequest) GetKey() string {
	if x != nil {
		return x.Key
	}
	return ""
}

func (x *ForceReleaseRequest) GetTenant() string {
	if x != nil {
		return x.Tenant
	}
	return ""
}

func (x *ForceReleaseRequest) GetReason() string {
	if x != nil {
		return x.Reason
	}
	return ""
}

type ForceReleaseResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// true: this call released it. false: it was released in the meantime.
	Released bool `protobuf:"varint,1,opt,name=released,proto3" json:"released,omitempty"`
	// Who held it, and the fencing token of that grant.
	Owner         string `protobuf:"bytes,2,opt,name=owner,proto3" json:"owner,omitempty"`
	FencingToken  int64  `protobuf:"varint,3,opt,name=fencing_token,json=fencingToken,proto3" json:"fencing_token,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *ForceReleaseResponse) Reset() {
	*x = ForceReleaseResponse{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[22]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ForceReleaseResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ForceReleaseResponse) ProtoMessage() {}

func (x *ForceReleaseResponse) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[22]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use ForceReleaseResponse.ProtoReflect.Descriptor instead.
func (*ForceReleaseResponse) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{22}
}

func (x *ForceReleaseResponse) GetReleased() bool {
	if x != nil {
		return x.Released
	}
	return false
}

func (x *ForceReleaseResponse) GetOwner() string {
	if x != nil {
		return x.Owner
	}
	return ""
}

func (x *ForceReleaseResponse) GetFencingToken() int64 {
	if x != nil {
		return x.FencingToken
	}
	return 0
}

type WatchRequest struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// Types that are valid to be assigned to Selector:
	//
	//	*WatchRequest_Key
	//	*WatchRequest_Prefix
	Selector isWatchRequest_Selector `protobuf_oneof:"selector"`
	// Resume after the event that carried this cursor; empty: start with a snapshot.
	Cursor        string `protobuf:"bytes,3,opt,name=cursor,proto3" json:"cursor,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchRequest) Reset() {
	*x = WatchRequest{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[23]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchRequest) ProtoMessage() {}

func (x *WatchRequest) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[23]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchRequest.ProtoReflect.Descriptor instead.
func (*WatchRequest) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{23}
}

func (x *WatchRequest) GetSelector() isWatchRequest_Selector {
	if x != nil {
		return x.Selector
	}
	return nil
}

func (x *WatchRequest) GetKey() string {
	if x != nil {
		if x, ok := x.Selector.(*WatchRequest_Key); ok {
			return x.Key
		}
	}
	return ""
}

func (x *WatchRequest) GetPrefix() string {
	if x != nil {
		if x, ok := x.Selector.(*WatchRequest_Prefix); ok {
			return x.Prefix
		}
	}
	return ""
}

func (x *WatchRequest) GetCursor() string {
	if x != nil {
		return x.Cursor
	}
	return ""
}

type isWatchRequest_Selector interface {
	isWatchRequest_Selector()
}

type WatchRequest_Key struct {
	// Exactly this key.
	Key string `protobuf:"bytes,1,opt,name=key,proto3,oneof"`
}

type WatchRequest_Prefix struct {
	// Every key that starts with this prefix; "" watches everything.
	Prefix string `protobuf:"bytes,2,opt,name=prefix,proto3,oneof"`
}

func (*WatchRequest_Key) isWatchRequest_Selector() {}

func (*WatchRequest_Prefix) isWatchRequest_Selector() {}

type WatchResponse struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	// In order; never empty.
	Events        []*WatchEvent `protobuf:"bytes,1,rep,name=events,proto3" json:"events,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchResponse) Reset() {
	*x = WatchResponse{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[24]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchResponse) ProtoMessage() {}

func (x *WatchResponse) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[24]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchResponse.ProtoReflect.Descriptor instead.
func (*WatchResponse) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{24}
}

func (x *WatchResponse) GetEvents() []*WatchEvent {
	if x != nil {
		return x.Events
	}
	return nil
}

type WatchEvent struct {
	state protoimpl.MessageState `protogen:"open.v1"`
	Kind  WatchEvent_Kind        `protobuf:"varint,1,opt,name=kind,proto3,enum=threadlock.v1.WatchEvent_Kind" json:"kind,omitempty"`
	Key   string                 `protobuf:"bytes,2,opt,name=key,proto3" json:"key,omitempty"`
	Owner string                 `protobuf:"bytes,3,opt,name=owner,proto3" json:"owner,omitempty"`
	// The contender's fencing token (its create revision): identifies it across its events.
	FencingToken int64 `protobuf:"varint,4,opt,name=fencing_token,json=fencingToken,proto3" json:"fencing_token,omitempty"`
	// The contender's metadata (after the change, for METADATA_CHANGED).
	Metadata map[string]string `protobuf:"bytes,5,rep,name=metadata,proto3" json:"metadata,omitempty" protobuf_key:"bytes,1,opt,name=key" protobuf_val:"bytes,2,opt,name=value"`
	// GRANTED: when it was granted. QUEUED: when it queued. Others: when this replica saw the
	// change (the store keeps no time of a deletion).
	Time *timestamppb.Timestamp `protobuf:"bytes,6,opt,name=time,proto3" json:"time,omitempty"`
	// Pass as WatchRequest.cursor to resume after this event. Opaque.
	Cursor string `protobuf:"bytes,7,opt,name=cursor,proto3" json:"cursor,omitempty"`
	// The store revision of the change (of the snapshot, for snapshot events).
	Revision int64 `protobuf:"varint,8,opt,name=revision,proto3" json:"revision,omitempty"`
	// Part of a snapshot, not a change.
	Snapshot bool `protobuf:"varint,9,opt,name=snapshot,proto3" json:"snapshot,omitempty"`
	// The contender's TTL in seconds (0 when it lives under a session).
	TtlSeconds int64 `protobuf:"varint,10,opt,name=ttl_seconds,json=ttlSeconds,proto3" json:"ttl_seconds,omitempty"`
	// When it queued, and when it was granted (unset while waiting).
	QueuedAt      *timestamppb.Timestamp `protobuf:"bytes,11,opt,name=queued_at,json=queuedAt,proto3" json:"queued_at,omitempty"`
	AcquiredAt    *timestamppb.Timestamp `protobuf:"bytes,12,opt,name=acquired_at,json=acquiredAt,proto3" json:"acquired_at,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *WatchEvent) Reset() {
	*x = WatchEvent{}
	mi := &file_threadlock_v1_lock_proto_msgTypes[25]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchEvent) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchEvent) ProtoMessage() {}

func (x *WatchEvent) ProtoReflect() protoreflect.Message {
	mi := &file_threadlock_v1_lock_proto_msgTypes[25]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

// Deprecated: Use WatchEvent.ProtoReflect.Descriptor instead.
func (*WatchEvent) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{25}
}

func (x *WatchEvent) GetKind() WatchEvent_Kind {
	if x != nil {
		return x.Kind
	}
	return WatchEvent_KIND_UNSPECIFIED
}

func (x *WatchEvent) GetKey() string {
	if x != nil {
		return x.Key
	}
	return ""
}

func (x *WatchEvent) GetOwner() string {
	if x != nil {
		return x.Owner
	}
	return ""
}

func (x *WatchEvent) GetFencingToken() int64 {
	if x != nil {
		return x.FencingToken
	}
	return 0
}

func (x *WatchEvent) GetMetadata() map[string]string {
	if x != nil {
		return x.Metadata
	}
	return nil
}

func (x *WatchEvent) GetTime() *timestamppb.Timestamp {
	if x != nil {
		return x.Time
	}
	return nil
}

func (x *WatchEvent) GetCursor() string {
	if x != nil {
		return x.Cursor
	}
	return ""
}

func (x *WatchEvent) GetRevision() int64 {
	if x != nil {
		return x.Revision
	}
	return 0
}

func (x *WatchEvent) GetSnapshot() bool {
	if x != nil {
		return x.Snapshot
	}
	return false
}

func (x *WatchEvent) GetTtlSeconds() int64 {
	if x != nil {
		return x.TtlSeconds
	}
	return 0
}

func (x *WatchEvent) GetQueuedAt() *timestamppb.Timestamp {
	if x != nil {
		return x.QueuedAt
	}
	return nil
}

func (x *WatchEvent) GetAcquiredAt() *timestamppb.Timestamp {
	if x != nil {
		return x.AcquiredAt
	}
	return nil
}

var File_threadlock_v1_lock_proto protoreflect.FileDescriptor

const file_threadlock_v1_lock_proto_rawDesc = "" +
	"\n" +
	"\x18threadlock/v1/lock.proto\x12\rthreadlock.v1\x1a\x1egoogle/protobuf/duration.proto\x1a\x1fgoogle/protobuf/timestamp.proto\"\xde\x02\n" +
	"\x0eAcquireRequest\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05owner\x18\x02 \x01(\tR\x05owner\x12+\n" +
	"\x03ttl\x18\x03 \x01(\v2\x19.google.protobuf.DurationR\x03ttl\x12-\n" +
	"\x04wait\x18\x04 \x01(\v2\x19.google.protobuf.DurationR\x04wait\x12\x1d\n" +
	"\n" +
	"request_id\x18\x05 \x01(\tR\trequestId\x12G\n" +
	"\bmetadata\x18\x06 \x03(\v2+.threadlock.v1.AcquireRequest.MetadataEntryR\bmetadata\x12\x1d\n" +
	"\n" +
	"session_id\x18\a \x01(\tR\tsessionId\x1a;\n" +
	"\rMetadataEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01J\x04\b2\x10<\"t\n" +
	"\x0fAcquireResponse\x12,\n" +
	"\x05lease\x18\x01 \x01(\v2\x14.threadlock.v1.LeaseH\x00R\x05lease\x12)\n" +
	"\x04busy\x18\x02 \x01(\v2\x13.threadlock.v1.BusyH\x00R\x04busyB\b\n" +
	"\x06result\"\xee\x03\n" +
	"\x05Lease\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05owner\x18\x02 \x01(\tR\x05owner\x12\x1f\n" +
	"\vlease_token\x18\x03 \x01(\tR\n" +
	"leaseToken\x12#\n" +
	"\rfencing_token\x18\x04 \x01(\x03R\ffencingToken\x12;\n" +
	"\vacquired_at\x18\x05 \x01(\v2\x1a.google.protobuf.TimestampR\n" +
	"acquiredAt\x129\n" +
	"\n" +
	"expires_at\x18\x06 \x01(\v2\x1a.google.protobuf.TimestampR\texpiresAt\x12+\n" +
	"\x03ttl\x18\a \x01(\v2\x19.google.protobuf.DurationR\x03ttl\x12>\n" +
	"\bmetadata\x18\b \x03(\v2\".threadlock.v1.Lease.MetadataEntryR\bmetadata\x12\x1d\n" +
	"\n" +
	"session_id\x18\t \x01(\tR\tsessionId\x126\n" +
	"\tvalid_for\x18\n" +
	" \x01(\v2\x19.google.protobuf.DurationR\bvalidFor\x1a;\n" +
	"\rMetadataEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\"\xae\x01\n" +
	"\x04Busy\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12-\n" +
	"\x06holder\x18\x02 \x01(\v2\x15.threadlock.v1.HolderR\x06holder\x12\x18\n" +
	"\awaiters\x18\x03 \x01(\x05R\awaiters\x121\n" +
	"\x06waited\x18\x04 \x01(\v2\x19.google.protobuf.DurationR\x06waited\x12\x18\n" +
	"\amessage\x18\x05 \x01(\tR\amessage\"\xa9\x03\n" +
	"\x06Holder\x12\x14\n" +
	"\x05owner\x18\x01 \x01(\tR\x05owner\x12#\n" +
	"\rfencing_token\x18\x02 \x01(\x03R\ffencingToken\x12;\n" +
	"\vacquired_at\x18\x03 \x01(\v2\x1a.google.protobuf.TimestampR\n" +
	"acquiredAt\x129\n" +
	"\n" +
	"expires_at\x18\x04 \x01(\v2\x1a.google.protobuf.TimestampR\texpiresAt\x124\n" +
	"\bheld_for\x18\x05 \x01(\v2\x19.google.protobuf.DurationR\aheldFor\x128\n" +
	"\n" +
	"expires_in\x18\x06 \x01(\v2\x19.google.protobuf.DurationR\texpiresIn\x12?\n" +
	"\bmetadata\x18\a \x03(\v2#.threadlock.v1.Holder.MetadataEntryR\bmetadata\x1a;\n" +
	"\rMetadataEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\"\xf1\x01\n" +
	"\x06Waiter\x12\x14\n" +
	"\x05owner\x18\x01 \x01(\tR\x05owner\x12\x1a\n" +
	"\bposition\x18\x02 \x01(\x05R\bposition\x127\n" +
	"\tqueued_at\x18\x03 \x01(\v2\x1a.google.protobuf.TimestampR\bqueuedAt\x12?\n" +
	"\bmetadata\x18\x04 \x03(\v2#.threadlock.v1.Waiter.MetadataEntryR\bmetadata\x1a;\n" +
	"\rMetadataEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\"\xee\x01\n" +
	"\x10KeepAliveRequest\x12!\n" +
	"\vlease_token\x18\x01 \x01(\tH\x00R\n" +
	"leaseToken\x12\x1f\n" +
	"\n" +
	"session_id\x18\x02 \x01(\tH\x00R\tsessionId\x12I\n" +
	"\bmetadata\x18\x03 \x03(\v2-.threadlock.v1.KeepAliveRequest.MetadataEntryR\bmetadata\x1a;\n" +
	"\rMetadataEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01B\b\n" +
	"\x06targetJ\x04\b2\x10<\"{\n" +
	"\x11KeepAliveResponse\x129\n" +
	"\n" +
	"expires_at\x18\x01 \x01(\v2\x1a.google.protobuf.TimestampR\texpiresAt\x12+\n" +
	"\x03ttl\x18\x02 \x01(\v2\x19.google.protobuf.DurationR\x03ttl\"7\n" +
	"\x0eReleaseRequest\x12\x1f\n" +
	"\vlease_token\x18\x01 \x01(\tR\n" +
	"leaseTokenJ\x04\b2\x10<\"-\n" +
	"\x0fReleaseResponse\x12\x1a\n" +
	"\breleased\x18\x01 \x01(\bR\breleased\"]\n" +
	"\x12OpenSessionRequest\x12\x14\n" +
	"\x05owner\x18\x01 \x01(\tR\x05owner\x12+\n" +
	"\x03ttl\x18\x02 \x01(\v2\x19.google.protobuf.DurationR\x03ttlJ\x04\b2\x10<\"\x9c\x01\n" +
	"\x13OpenSessionResponse\x12\x1d\n" +
	"\n" +
	"session_id\x18\x01 \x01(\tR\tsessionId\x129\n" +
	"\n" +
	"expires_at\x18\x02 \x01(\v2\x1a.google.protobuf.TimestampR\texpiresAt\x12+\n" +
	"\x03ttl\x18\x03 \x01(\v2\x19.google.protobuf.DurationR\x03ttl\":\n" +
	"\x13CloseSessionRequest\x12\x1d\n" +
	"\n" +
	"session_id\x18\x01 \x01(\tR\tsessionIdJ\x04\b2\x10<\".\n" +
	"\x14CloseSessionResponse\x12\x16\n" +
	"\x06closed\x18\x01 \x01(\bR\x06closed\"\x8b\x01\n" +
	"\rStatusRequest\x12\x12\n" +
	"\x03key\x18\x01 \x01(\tH\x00R\x03key\x12\x18\n" +
	"\x06prefix\x18\x02 \x01(\tH\x00R\x06prefix\x12\x1b\n" +
	"\tpage_size\x18\x03 \x01(\x05R\bpageSize\x12\x1d\n" +
	"\n" +
	"page_token\x18\x04 \x01(\tR\tpageTokenB\n" +
	"\n" +
	"\bselectorJ\x04\b2\x10<\"h\n" +
	"\x0eStatusResponse\x12.\n" +
	"\x05locks\x18\x01 \x03(\v2\x18.threadlock.v1.LockStateR\x05locks\x12&\n" +
	"\x0fnext_page_token\x18\x02 \x01(\tR\rnextPageToken\"}\n" +
	"\tLockState\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12-\n" +
	"\x06holder\x18\x02 \x01(\v2\x15.threadlock.v1.HolderR\x06holder\x12/\n" +
	"\awaiters\x18\x03 \x03(\v2\x15.threadlock.v1.WaiterR\awaiters\"\xeb\x05\n" +
	"\rStreamRequest\x12\x17\n" +
	"\acall_id\x18\x01 \x01(\x04R\x06callId\x123\n" +
	"\atimeout\x18\x02 \x01(\v2\x19.google.protobuf.DurationR\atimeout\x12C\n" +
	"\aheaders\x18\x03 \x03(\v2).threadlock.v1.StreamRequest.HeadersEntryR\aheaders\x129\n" +
	"\aacquire\x18\n" +
	" \x01(\v2\x1d.threadlock.v1.AcquireRequestH\x00R\aacquire\x12@\n" +
	"\n" +
	"keep_alive\x18\v \x01(\v2\x1f.threadlock.v1.KeepAliveRequestH\x00R\tkeepAlive\x129\n" +
	"\arelease\x18\f \x01(\v2\x1d.threadlock.v1.ReleaseRequestH\x00R\arelease\x12F\n" +
	"\fopen_session\x18\r \x01(\v2!.threadlock.v1.OpenSessionRequestH\x00R\vopenSession\x12I\n" +
	"\rclose_session\x18\x0e \x01(\v2\".threadlock.v1.CloseSessionRequestH\x00R\fcloseSession\x126\n" +
	"\x06status\x18\x0f \x01(\v2\x1c.threadlock.v1.StatusRequestH\x00R\x06status\x12I\n" +
	"\rforce_release\x18\x10 \x01(\v2\".threadlock.v1.ForceReleaseRequestH\x00R\fforceRelease\x125\n" +
	"\x06cancel\x18\x14 \x01(\v2\x1b.threadlock.v1.StreamCancelH\x00R\x06cancel\x1a:\n" +
	"\fHeadersEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01B\x06\n" +
	"\x04call\"\x0e\n" +
	"\fStreamCancel\"\xbc\x04\n" +
	"\x0eStreamResponse\x12\x17\n" +
	"\acall_id\x18\x01 \x01(\x04R\x06callId\x122\n" +
	"\x05error\x18\x02 \x01(\v2\x1a.threadlock.v1.StreamErrorH\x00R\x05error\x12:\n" +
	"\aacquire\x18\n" +
	" \x01(\v2\x1e.threadlock.v1.AcquireResponseH\x00R\aacquire\x12A\n" +
	"\n" +
	"keep_alive\x18\v \x01(\v2 .threadlock.v1.KeepAliveResponseH\x00R\tkeepAlive\x12:\n" +
	"\arelease\x18\f \x01(\v2\x1e.threadlock.v1.ReleaseResponseH\x00R\arelease\x12G\n" +
	"\fopen_session\x18\r \x01(\v2\".threadlock.v1.OpenSessionResponseH\x00R\vopenSession\x12J\n" +
	"\rclose_session\x18\x0e \x01(\v2#.threadlock.v1.CloseSessionResponseH\x00R\fcloseSession\x127\n" +
	"\x06status\x18\x0f \x01(\v2\x1d.threadlock.v1.StatusResponseH\x00R\x06status\x12J\n" +
	"\rforce_release\x18\x10 \x01(\v2#.threadlock.v1.ForceReleaseResponseH\x00R\fforceReleaseB\b\n" +
	"\x06result\";\n" +
	"\vStreamError\x12\x12\n" +
	"\x04code\x18\x01 \x01(\x05R\x04code\x12\x18\n" +
	"\amessage\x18\x02 \x01(\tR\amessage\"W\n" +
	"\x13ForceReleaseRequest\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x16\n" +
	"\x06tenant\x18\x02 \x01(\tR\x06tenant\x12\x16\n" +
	"\x06reason\x18\x03 \x01(\tR\x06reason\"m\n" +
	"\x14ForceReleaseResponse\x12\x1a\n" +
	"\breleased\x18\x01 \x01(\bR\breleased\x12\x14\n" +
	"\x05owner\x18\x02 \x01(\tR\x05owner\x12#\n" +
	"\rfencing_token\x18\x03 \x01(\x03R\ffencingToken\"f\n" +
	"\fWatchRequest\x12\x12\n" +
	"\x03key\x18\x01 \x01(\tH\x00R\x03key\x12\x18\n" +
	"\x06prefix\x18\x02 \x01(\tH\x00R\x06prefix\x12\x16\n" +
	"\x06cursor\x18\x03 \x01(\tR\x06cursorB\n" +
	"\n" +
	"\bselectorJ\x04\b2\x10<\"B\n" +
	"\rWatchResponse\x121\n" +
	"\x06events\x18\x01 \x03(\v2\x19.threadlock.v1.WatchEventR\x06events\"\xed\x05\n" +
	"\n" +
	"WatchEvent\x122\n" +
	"\x04kind\x18\x01 \x01(\x0e2\x1e.threadlock.v1.WatchEvent.KindR\x04kind\x12\x10\n" +
	"\x03key\x18\x02 \x01(\tR\x03key\x12\x14\n" +
	"\x05owner\x18\x03 \x01(\tR\x05owner\x12#\n" +
	"\rfencing_token\x18\x04 \x01(\x03R\ffencingToken\x12C\n" +
	"\bmetadata\x18\x05 \x03(\v2'.threadlock.v1.WatchEvent.MetadataEntryR\bmetadata\x12.\n" +
	"\x04time\x18\x06 \x01(\v2\x1a.google.protobuf.TimestampR\x04time\x12\x16\n" +
	"\x06cursor\x18\a \x01(\tR\x06cursor\x12\x1a\n" +
	"\brevision\x18\b \x01(\x03R\brevision\x12\x1a\n" +
	"\bsnapshot\x18\t \x01(\bR\bsnapshot\x12\x1f\n" +
	"\vttl_seconds\x18\n" +
	" \x01(\x03R\n" +
	"ttlSeconds\x127\n" +
	"\tqueued_at\x18\v \x01(\v2\x1a.google.protobuf.TimestampR\bqueuedAt\x12;\n" +
	"\vacquired_at\x18\f \x01(\v2\x1a.google.protobuf.TimestampR\n" +
	"acquiredAt\x1a;\n" +
	"\rMetadataEntry\x12\x10\n" +
	"\x03key\x18\x01 \x01(\tR\x03key\x12\x14\n" +
	"\x05value\x18\x02 \x01(\tR\x05value:\x028\x01\"\xc4\x01\n" +
	"\x04Kind\x12\x14\n" +
	"\x10KIND_UNSPECIFIED\x10\x00\x12\x10\n" +
	"\fKIND_GRANTED\x10\x01\x12\x11\n" +
	"\rKIND_RELEASED\x10\x02\x12\x10\n" +
	"\fKIND_EXPIRED\x10\x03\x12\x0f\n" +
	"\vKIND_QUEUED\x10\x04\x12\x13\n" +
	"\x0fKIND_LEFT_QUEUE\x10\x05\x12\x19\n" +
	"\x15KIND_METADATA_CHANGED\x10\x06\x12\x15\n" +
	"\x11KIND_SNAPSHOT_END\x10\a\x12\x17\n" +
	"\x13KIND_CURSOR_TOO_OLD\x10\b2\xd1\x05\n" +
	"\vLockService\x12H\n" +
	"\aAcquire\x12\x1d.threadlock.v1.AcquireRequest\x1a\x1e.threadlock.v1.AcquireResponse\x12N\n" +
	"\tKeepAlive\x12\x1f.threadlock.v1.KeepAliveRequest\x1a .threadlock.v1.KeepAliveResponse\x12H\n" +
	"\aRelease\x12\x1d.threadlock.v1.ReleaseRequest\x1a\x1e.threadlock.v1.ReleaseResponse\x12T\n" +
	"\vOpenSession\x12!.threadlock.v1.OpenSessionRequest\x1a\".threadlock.v1.OpenSessionResponse\x12W\n" +
	"\fCloseSession\x12\".threadlock.v1.CloseSessionRequest\x1a#.threadlock.v1.CloseSessionResponse\x12E\n" +
	"\x06Status\x12\x1c.threadlock.v1.StatusRequest\x1a\x1d.threadlock.v1.StatusResponse\x12I\n" +
	"\x06Stream\x12\x1c.threadlock.v1.StreamRequest\x1a\x1d.threadlock.v1.StreamResponse(\x010\x01\x12W\n" +
	"\fForceRelease\x12\".threadlock.v1.ForceReleaseRequest\x1a#.threadlock.v1.ForceReleaseResponse\x12D\n" +
	"\x05Watch\x12\x1b.threadlock.v1.WatchRequest\x1a\x1c.threadlock.v1.WatchResponse0\x01B\xbf\x01\n" +
	"\x11com.threadlock.v1B\tLockProtoP\x01ZJgithub.com/threadlock/threadlock/clients/go/gen/threadlock/v1;threadlockv1\xa2\x02\x03TXX\xaa\x02\rThreadlock.V1\xca\x02\rThreadlock\\V1\xe2\x02\x19Threadlock\\V1\\GPBMetadata\xea\x02\x0eThreadlock::V1b\x06proto3"

var (
	file_threadlock_v1_lock_proto_rawDescOnce sync.Once
	file_threadlock_v1_lock_proto_rawDescData []byte
)

func file_threadlock_v1_lock_proto_rawDescGZIP() []byte {
	file_threadlock_v1_lock_proto_rawDescOnce.Do(func() {
		file_threadlock_v1_lock_proto_rawDescData = protoimpl.X.CompressGZIP(unsafe.Slice(unsafe.StringData(file_threadlock_v1_lock_proto_rawDesc), len(file_threadlock_v1_lock_proto_rawDesc)))
	})
	return file_threadlock_v1_lock_proto_rawDescData
}

var file_threadlock_v1_lock_proto_enumTypes = make([]protoimpl.EnumInfo, 1)
var file_threadlock_v1_lock_proto_msgTypes = make([]protoimpl.MessageInfo, 33)
var file_threadlock_v1_lock_proto_goTypes = []any{
	(WatchEvent_Kind)(0),          // 0: threadlock.v1.WatchEvent.Kind
	(*AcquireRequest)(nil),        // 1: threadlock.v1.AcquireRequest
	(*AcquireResponse)(nil),       // 2: threadlock.v1.AcquireResponse
	(*Lease)(nil),                 // 3: threadlock.v1.Lease
	(*Busy)(nil),                  // 4: threadlock.v1.Busy
	(*Holder)(nil),                // 5: threadlock.v1.Holder
	(*Waiter)(nil),                // 6: threadlock.v1.Waiter
	(*KeepAliveRequest)(nil),      // 7: threadlock.v1.KeepAliveRequest
	(*KeepAliveResponse)(nil),     // 8: threadlock.v1.KeepAliveResponse
	(*ReleaseRequest)(nil),        // 9: threadlock.v1.ReleaseRequest
	(*ReleaseResponse)(nil),       // 10: threadlock.v1.ReleaseResponse
	(*OpenSessionRequest)(nil),    // 11: threadlock.v1.OpenSessionRequest
	(*OpenSessionResponse)(nil),   // 12: threadlock.v1.OpenSessionResponse
	(*CloseSessionRequest)(nil),   // 13: threadlock.v1.CloseSessionRequest
	(*CloseSessionResponse)(nil),  // 14: threadlock.v1.CloseSessionResponse
	(*StatusRequest)(nil),         // 15: threadlock.v1.StatusRequest
	(*StatusResponse)(nil),        // 16: threadlock.v1.StatusResponse
	(*LockState)(nil),             // 17: threadlock.v1.LockState
	(*StreamRequest)(nil),         // 18: threadlock.v1.StreamRequest
	(*StreamCancel)(nil),          // 19: threadlock.v1.StreamCancel
	(*StreamResponse)(nil),        // 20: threadlock.v1.StreamResponse
	(*StreamError)(nil),           // 21: threadlock.v1.StreamError
	(*ForceReleaseRequest)(nil),   // 22: threadlock.v1.ForceReleaseRequest
	(*ForceReleaseResponse)(nil),  // 23: threadlock.v1.ForceReleaseResponse
	(*WatchRequest)(nil),          // 24: threadlock.v1.WatchRequest
	(*WatchResponse)(nil),         // 25: threadlock.v1.WatchResponse
	(*WatchEvent)(nil),            // 26: threadlock.v1.WatchEvent
	nil,                           // 27: threadlock.v1.AcquireRequest.MetadataEntry
	nil,                           // 28: threadlock.v1.Lease.MetadataEntry
	nil,                           // 29: threadlock.v1.Holder.MetadataEntry
	nil,                           // 30: threadlock.v1.Waiter.MetadataEntry
	nil,                           // 31: threadlock.v1.KeepAliveRequest.MetadataEntry
	nil,                           // 32: threadlock.v1.StreamRequest.HeadersEntry
	nil,                           // 33: threadlock.v1.WatchEvent.MetadataEntry
	(*durationpb.Duration)(nil),   // 34: google.protobuf.Duration
	(*timestamppb.Timestamp)(nil), // 35: google.protobuf.Timestamp
}
var file_threadlock_v1_lock_proto_depIdxs = []int32{
	34, // 0: threadlock.v1.AcquireRequest.ttl:type_name -> google.protobuf.Duration
	34, // 1: threadlock.v1.AcquireRequest.wait:type_name -> google.protobuf.Duration
	27, // 2: threadlock.v1.AcquireRequest.metadata:type_name -> threadlock.v1.AcquireRequest.MetadataEntry
	3,  // 3: threadlock.v1.AcquireResponse.lease:type_name -> threadlock.v1.Lease
	4,  // 4: threadlock.v1.AcquireResponse.busy:type_name -> threadlock.v1.Busy
	35, // 5: threadlock.v1.Lease.acquired_at:type_name -> google.protobuf.Timestamp
	35, // 6: threadlock.v1.Lease.expires_at:type_name -> google.protobuf.Timestamp
	34, // 7: threadlock.v1.Lease.ttl:type_name -> google.protobuf.Duration
	28, // 8: threadlock.v1.Lease.metadata:type_name -> threadlock.v1.Lease.MetadataEntry
	34, // 9: threadlock.v1.Lease.valid_for:type_name -> google.protobuf.Duration
	5,  // 10: threadlock.v1.Busy.holder:type_name -> threadlock.v1.Holder
	34, // 11: threadlock.v1.Busy.waited:type_name -> google.protobuf.Duration
	35, // 12: threadlock.v1.Holder.acquired_at:type_name -> google.protobuf.Timestamp
	35, // 13: threadlock.v1.Holder.expires_at:type_name -> google.protobuf.Timestamp
	34, // 14: threadlock.v1.Holder.held_for:type_name -> google.protobuf.Duration
	34, // 15: threadlock.v1.Holder.expires_in:type_name -> google.protobuf.Duration
	29, // 16: threadlock.v1.Holder.metadata:type_name -> threadlock.v1.Holder.MetadataEntry
	35, // 17: threadlock.v1.Waiter.queued_at:type_name -> google.protobuf.Timestamp
	30, // 18: threadlock.v1.Waiter.metadata:type_name -> threadlock.v1.Waiter.MetadataEntry
	31, // 19: threadlock.v1.KeepAliveRequest.metadata:type_name -> threadlock.v1.KeepAliveRequest.MetadataEntry
	35, // 20: threadlock.v1.KeepAliveResponse.expires_at:type_name -> google.protobuf.Timestamp
	34, // 21: threadlock.v1.KeepAliveResponse.ttl:type_name -> google.protobuf.Duration
	34, // 22: threadlock.v1.OpenSessionRequest.ttl:type_name -> google.protobuf.Duration
	35, // 23: threadlock.v1.OpenSessionResponse.expires_at:type_name -> google.protobuf.Timestamp
	34, // 24: threadlock.v1.OpenSessionResponse.ttl:type_name -> google.protobuf.Duration
	17, // 25: threadlock.v1.StatusResponse.locks:type_name -> threadlock.v1.LockState
	5,  // 26: threadlock.v1.LockState.holder:type_name -> threadlock.v1.Holder
	6,  // 27: threadlock.v1.LockState.waiters:type_name -> threadlock.v1.Waiter
	34, // 28: threadlock.v1.StreamRequest.timeout:type_name -> google.protobuf.Duration
	32, // 29: threadlock.v1.StreamRequest.headers:type_name -> threadlock.v1.StreamRequest.HeadersEntry
	1,  // 30: threadlock.v1.StreamRequest.acquire:type_name -> threadlock.v1.AcquireRequest
	7,  // 31: threadlock.v1.StreamRequest.keep_alive:type_name -> threadlock.v1.KeepAliveRequest
	9,  // 32: threadlock.v1.StreamRequest.release:type_name -> threadlock.v1.ReleaseRequest
	11, // 33: threadlock.v1.StreamRequest.open_session:type_name -> threadlock.v1.OpenSessionRequest
	13, // 34: threadlock.v1.StreamRequest.close_session:type_name -> threadlock.v1.CloseSessionRequest
	15, // 35: threadlock.v1.StreamRequest.status:type_name -> threadlock.v1.StatusRequest
	22, // 36: threadlock.v1.StreamRequest.force_release:type_name -> threadlock.v1.ForceReleaseRequest
	19, // 37: threadlock.v1.StreamRequest.cancel:type_name -> threadlock.v1.StreamCancel
	21, // 38: threadlock.v1.StreamResponse.error:type_name -> threadlock.v1.StreamError
	2,  // 39: threadlock.v1.StreamResponse.acquire:type_name -> threadlock.v1.AcquireResponse
	8,  // 40: threadlock.v1.StreamResponse.keep_alive:type_name -> threadlock.v1.KeepAliveResponse
	10, // 41: threadlock.v1.StreamResponse.release:type_name -> threadlock.v1.ReleaseResponse
	12, // 42: threadlock.v1.StreamResponse.open_session:type_name -> threadlock.v1.OpenSessionResponse
	14, // 43: threadlock.v1.StreamResponse.close_session:type_name -> threadlock.v1.CloseSessionResponse
	16, // 44: threadlock.v1.StreamResponse.status:type_name -> threadlock.v1.StatusResponse
	23, // 45: threadlock.v1.StreamResponse.force_release:type_name -> threadlock.v1.ForceReleaseResponse
	26, // 46: threadlock.v1.WatchResponse.events:type_name -> threadlock.v1.WatchEvent
	0,  // 47: threadlock.v1.WatchEvent.kind:type_name -> threadlock.v1.WatchEvent.Kind
	33, // 48: threadlock.v1.WatchEvent.metadata:type_name -> threadlock.v1.WatchEvent.MetadataEntry
	35, // 49: threadlock.v1.WatchEvent.time:type_name -> google.protobuf.Timestamp
	35, // 50: threadlock.v1.WatchEvent.queued_at:type_name -> google.protobuf.Timestamp
	35, // 51: threadlock.v1.WatchEvent.acquired_at:type_name -> google.protobuf.Timestamp
	1,  // 52: threadlock.v1.LockService.Acquire:input_type -> threadlock.v1.AcquireRequest
	7,  // 53: threadlock.v1.LockService.KeepAlive:input_type -> threadlock.v1.KeepAliveRequest
	9,  // 54: threadlock.v1.LockService.Release:input_type -> threadlock.v1.ReleaseRequest
	11, // 55: threadlock.v1.LockService.OpenSession:input_type -> threadlock.v1.OpenSessionRequest
	13, // 56: threadlock.v1.LockService.CloseSession:input_type -> threadlock.v1.CloseSessionRequest
	15, // 57: threadlock.v1.LockService.Status:input_type -> threadlock.v1.StatusRequest
	18, // 58: threadlock.v1.LockService.Stream:input_type -> threadlock.v1.StreamRequest
	22, // 59: threadlock.v1.LockService.ForceRelease:input_type -> threadlock.v1.ForceReleaseRequest
	24, // 60: threadlock.v1.LockService.Watch:input_type -> threadlock.v1.WatchRequest
	2,  // 61: threadlock.v1.LockService.Acquire:output_type -> threadlock.v1.AcquireResponse
	8,  // 62: threadlock.v1.LockService.KeepAlive:output_type -> threadlock.v1.KeepAliveResponse
	10, // 63: threadlock.v1.LockService.Release:output_type -> threadlock.v1.ReleaseResponse
	12, // 64: threadlock.v1.LockService.OpenSession:output_type -> threadlock.v1.OpenSessionResponse
	14, // 65: threadlock.v1.LockService.CloseSession:output_type -> threadlock.v1.CloseSessionResponse
	16, // 66: threadlock.v1.LockService.Status:output_type -> threadlock.v1.StatusResponse
	20, // 67: threadlock.v1.LockService.Stream:output_type -> threadlock.v1.StreamResponse
	23, // 68: threadlock.v1.LockService.ForceRelease:output_type -> threadlock.v1.ForceReleaseResponse
	25, // 69: threadlock.v1.LockService.Watch:output_type -> threadlock.v1.WatchResponse
	61, // [61:70] is the sub-list for method output_type
	52, // [52:61] is the sub-list for method input_type
	52, // [52:52] is the sub-list for extension type_name
	52, // [52:52] is the sub-list for extension extendee
	0,  // [0:52] is the sub-list for field type_name
}

func init() { file_threadlock_v1_lock_proto_init() }
func file_threadlock_v1_lock_proto_init() {
	if File_threadlock_v1_lock_proto != nil {
		return
	}
	file_threadlock_v1_lock_proto_msgTypes[1].OneofWrappers = []any{
		(*AcquireResponse_Lease)(nil),
		(*AcquireResponse_Busy)(nil),
	}
	file_threadlock_v1_lock_proto_msgTypes[6].OneofWrappers = []any{
		(*KeepAliveRequest_LeaseToken)(nil),
		(*KeepAliveRequest_SessionId)(nil),
	}
	file_threadlock_v1_lock_proto_msgTypes[14].OneofWrappers = []any{
		(*StatusRequest_Key)(nil),
		(*StatusRequest_Prefix)(nil),
	}
	file_threadlock_v1_lock_proto_msgTypes[17].OneofWrappers = []any{
		(*StreamRequest_Acquire)(nil),
		(*StreamRequest_KeepAlive)(nil),
		(*StreamRequest_Release)(nil),
		(*StreamRequest_OpenSession)(nil),
		(*StreamRequest_CloseSession)(nil),
		(*StreamRequest_Status)(nil),
		(*StreamRequest_ForceRelease)(nil),
		(*StreamRequest_Cancel)(nil),
	}
	file_threadlock_v1_lock_proto_msgTypes[19].OneofWrappers = []any{
		(*StreamResponse_Error)(nil),
		(*StreamResponse_Acquire)(nil),
		(*StreamResponse_KeepAlive)(nil),
		(*StreamResponse_Release)(nil),
		(*StreamResponse_OpenSession)(nil),
		(*StreamResponse_CloseSession)(nil),
		(*StreamResponse_Status)(nil),
		(*StreamResponse_ForceRelease)(nil),
	}
	file_threadlock_v1_lock_proto_msgTypes[23].OneofWrappers = []any{
		(*WatchRequest_Key)(nil),
		(*WatchRequest_Prefix)(nil),
	}
	type x struct{}
	out := protoimpl.TypeBuilder{
		File: protoimpl.DescBuilder{
			GoPackagePath: reflect.TypeOf(x{}).PkgPath(),
			RawDescriptor: unsafe.Slice(unsafe.StringData(file_threadlock_v1_lock_proto_rawDesc), len(file_threadlock_v1_lock_proto_rawDesc)),
			NumEnums:      1,
			NumMessages:   33,
			NumExtensions: 0,
			NumServices:   1,
		},
		GoTypes:           file_threadlock_v1_lock_proto_goTypes,
		DependencyIndexes: file_threadlock_v1_lock_proto_depIdxs,
		EnumInfos:         file_threadlock_v1_lock_proto_enumTypes,
		MessageInfos:      file_threadlock_v1_lock_proto_msgTypes,
	}.Build()
	File_threadlock_v1_lock_proto = out.File
	file_threadlock_v1_lock_proto_goTypes = nil
	file_threadlock_v1_lock_proto_depIdxs = nil
}
