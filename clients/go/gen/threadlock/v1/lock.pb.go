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
// grant of that key (it is in fact globally increasing). Pass it to whatever the lock protects and
// reject writes that carry a smaller token than one already seen: a paused holder whose lease
// expired then cannot overwrite its successor's work.
//
// # Calls
// Acquire     take a key: try once (wait = 0) or queue in FIFO order for up to `wait`.
// KeepAlive   renew a lease (or a session) before its TTL lapses; says at once if it is gone.
// Release     give a key back (or leave the queue) with the lease token. Idempotent.
// OpenSession / CloseSession
//             one lease per client process; any number of locks under it; one renewal
//             keeps them all. A session that ends (closed or expired) frees all its locks.
// Status      who holds a key, a key prefix, or everything (paginated), and who waits.
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
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{21, 0}
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
	SessionId     string `protobuf:"bytes,9,opt,name=session_id,json=sessionId,proto3" json:"session_id,omitempty"`
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
	mi := &file_threadlock_v1_lock_proto_msgTypes[17]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ForceReleaseRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ForceReleaseRequest) ProtoMessage() {}

func (x *ForceReleaseRequest) ProtoReflect() protoreflect.Message {
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

// Deprecated: Use ForceReleaseRequest.ProtoReflect.Descriptor instead.
func (*ForceReleaseRequest) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{17}
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
	mi := &file_threadlock_v1_lock_proto_msgTypes[18]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *ForceReleaseResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*ForceReleaseResponse) ProtoMessage() {}

func (x *ForceReleaseResponse) ProtoReflect() protoreflect.Message {
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

// Deprecated: Use ForceReleaseResponse.ProtoReflect.Descriptor instead.
func (*ForceReleaseResponse) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{18}
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
	mi := &file_threadlock_v1_lock_proto_msgTypes[19]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchRequest) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchRequest) ProtoMessage() {}

func (x *WatchRequest) ProtoReflect() protoreflect.Message {
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

// Deprecated: Use WatchRequest.ProtoReflect.Descriptor instead.
func (*WatchRequest) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{19}
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
	mi := &file_threadlock_v1_lock_proto_msgTypes[20]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchResponse) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchResponse) ProtoMessage() {}

func (x *WatchResponse) ProtoReflect() protoreflect.Message {
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

// Deprecated: Use WatchResponse.ProtoReflect.Descriptor instead.
func (*WatchResponse) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{20}
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
	mi := &file_threadlock_v1_lock_proto_msgTypes[21]
	ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
	ms.StoreMessageInfo(mi)
}

func (x *WatchEvent) String() string {
	return protoimpl.X.MessageStringOf(x)
}

func (*WatchEvent) ProtoMessage() {}

func (x *WatchEvent) ProtoReflect() protoreflect.Message {
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

// Deprecated: Use WatchEvent.ProtoReflect.Descriptor instead.
func (*WatchEvent) Descriptor() ([]byte, []int) {
	return file_threadlock_v1_lock_proto_rawDescGZIP(), []int{21}
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
	"\x06result\"\xb6\x03\n" +
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
	"session_id\x18\t \x01(\tR\tsessionId\x1a;\n" +
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
	"\awaiters\x18\x03 \x03(\v2\x15.threadlock.v1.WaiterR\awaiters\"W\n" +
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
	"\x13KIND_CURSOR_TOO_OLD\x10\b2\x86\x05\n" +
	"\vLockService\x12H\n" +
	"\aAcquire\x12\x1d.threadlock.v1.AcquireRequest\x1a\x1e.threadlock.v1.AcquireResponse\x12N\n" +
	"\tKeepAlive\x12\x1f.threadlock.v1.KeepAliveRequest\x1a .threadlock.v1.KeepAliveResponse\x12H\n" +
	"\aRelease\x12\x1d.threadlock.v1.ReleaseRequest\x1a\x1e.threadlock.v1.ReleaseResponse\x12T\n" +
	"\vOpenSession\x12!.threadlock.v1.OpenSessionRequest\x1a\".threadlock.v1.OpenSessionResponse\x12W\n" +
	"\fCloseSession\x12\".threadlock.v1.CloseSessionRequest\x1a#.threadlock.v1.CloseSessionResponse\x12E\n" +
	"\x06Status\x12\x1c.threadlock.v1.StatusRequest\x1a\x1d.threadlock.v1.StatusResponse\x12W\n" +
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
var file_threadlock_v1_lock_proto_msgTypes = make([]protoimpl.MessageInfo, 28)
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
	(*ForceReleaseRequest)(nil),   // 18: threadlock.v1.ForceReleaseRequest
	(*ForceReleaseResponse)(nil),  // 19: threadlock.v1.ForceReleaseResponse
	(*WatchRequest)(nil),          // 20: threadlock.v1.WatchRequest
	(*WatchResponse)(nil),         // 21: threadlock.v1.WatchResponse
	(*WatchEvent)(nil),            // 22: threadlock.v1.WatchEvent
	nil,                           // 23: threadlock.v1.AcquireRequest.MetadataEntry
	nil,                           // 24: threadlock.v1.Lease.MetadataEntry
	nil,                           // 25: threadlock.v1.Holder.MetadataEntry
	nil,                           // 26: threadlock.v1.Waiter.MetadataEntry
	nil,                           // 27: threadlock.v1.KeepAliveRequest.MetadataEntry
	nil,                           // 28: threadlock.v1.WatchEvent.MetadataEntry
	(*durationpb.Duration)(nil),   // 29: google.protobuf.Duration
	(*timestamppb.Timestamp)(nil), // 30: google.protobuf.Timestamp
}
var file_threadlock_v1_lock_proto_depIdxs = []int32{
	29, // 0: threadlock.v1.AcquireRequest.ttl:type_name -> google.protobuf.Duration
	29, // 1: threadlock.v1.AcquireRequest.wait:type_name -> google.protobuf.Duration
	23, // 2: threadlock.v1.AcquireRequest.metadata:type_name -> threadlock.v1.AcquireRequest.MetadataEntry
	3,  // 3: threadlock.v1.AcquireResponse.lease:type_name -> threadlock.v1.Lease
	4,  // 4: threadlock.v1.AcquireResponse.busy:type_name -> threadlock.v1.Busy
	30, // 5: threadlock.v1.Lease.acquired_at:type_name -> google.protobuf.Timestamp
	30, // 6: threadlock.v1.Lease.expires_at:type_name -> google.protobuf.Timestamp
	29, // 7: threadlock.v1.Lease.ttl:type_name -> google.protobuf.Duration
	24, // 8: threadlock.v1.Lease.metadata:type_name -> threadlock.v1.Lease.MetadataEntry
	5,  // 9: threadlock.v1.Busy.holder:type_name -> threadlock.v1.Holder
	29, // 10: threadlock.v1.Busy.waited:type_name -> google.protobuf.Duration
	30, // 11: threadlock.v1.Holder.acquired_at:type_name -> google.protobuf.Timestamp
	30, // 12: threadlock.v1.Holder.expires_at:type_name -> google.protobuf.Timestamp
	29, // 13: threadlock.v1.Holder.held_for:type_name -> google.protobuf.Duration
	29, // 14: threadlock.v1.Holder.expires_in:type_name -> google.protobuf.Duration
	25, // 15: threadlock.v1.Holder.metadata:type_name -> threadlock.v1.Holder.MetadataEntry
	30, // 16: threadlock.v1.Waiter.queued_at:type_name -> google.protobuf.Timestamp
	26, // 17: threadlock.v1.Waiter.metadata:type_name -> threadlock.v1.Waiter.MetadataEntry
	27, // 18: threadlock.v1.KeepAliveRequest.metadata:type_name -> threadlock.v1.KeepAliveRequest.MetadataEntry
	30, // 19: threadlock.v1.KeepAliveResponse.expires_at:type_name -> google.protobuf.Timestamp
	29, // 20: threadlock.v1.KeepAliveResponse.ttl:type_name -> google.protobuf.Duration
	29, // 21: threadlock.v1.OpenSessionRequest.ttl:type_name -> google.protobuf.Duration
	30, // 22: threadlock.v1.OpenSessionResponse.expires_at:type_name -> google.protobuf.Timestamp
	29, // 23: threadlock.v1.OpenSessionResponse.ttl:type_name -> google.protobuf.Duration
	17, // 24: threadlock.v1.StatusResponse.locks:type_name -> threadlock.v1.LockState
	5,  // 25: threadlock.v1.LockState.holder:type_name -> threadlock.v1.Holder
	6,  // 26: threadlock.v1.LockState.waiters:type_name -> threadlock.v1.Waiter
	22, // 27: threadlock.v1.WatchResponse.events:type_name -> threadlock.v1.WatchEvent
	0,  // 28: threadlock.v1.WatchEvent.kind:type_name -> threadlock.v1.WatchEvent.Kind
	28, // 29: threadlock.v1.WatchEvent.metadata:type_name -> threadlock.v1.WatchEvent.MetadataEntry
	30, // 30: threadlock.v1.WatchEvent.time:type_name -> google.protobuf.Timestamp
	30, // 31: threadlock.v1.WatchEvent.queued_at:type_name -> google.protobuf.Timestamp
	30, // 32: threadlock.v1.WatchEvent.acquired_at:type_name -> google.protobuf.Timestamp
	1,  // 33: threadlock.v1.LockService.Acquire:input_type -> threadlock.v1.AcquireRequest
	7,  // 34: threadlock.v1.LockService.KeepAlive:input_type -> threadlock.v1.KeepAliveRequest
	9,  // 35: threadlock.v1.LockService.Release:input_type -> threadlock.v1.ReleaseRequest
	11, // 36: threadlock.v1.LockService.OpenSession:input_type -> threadlock.v1.OpenSessionRequest
	13, // 37: threadlock.v1.LockService.CloseSession:input_type -> threadlock.v1.CloseSessionRequest
	15, // 38: threadlock.v1.LockService.Status:input_type -> threadlock.v1.StatusRequest
	18, // 39: threadlock.v1.LockService.ForceRelease:input_type -> threadlock.v1.ForceReleaseRequest
	20, // 40: threadlock.v1.LockService.Watch:input_type -> threadlock.v1.WatchRequest
	2,  // 41: threadlock.v1.LockService.Acquire:output_type -> threadlock.v1.AcquireResponse
	8,  // 42: threadlock.v1.LockService.KeepAlive:output_type -> threadlock.v1.KeepAliveResponse
	10, // 43: threadlock.v1.LockService.Release:output_type -> threadlock.v1.ReleaseResponse
	12, // 44: threadlock.v1.LockService.OpenSession:output_type -> threadlock.v1.OpenSessionResponse
	14, // 45: threadlock.v1.LockService.CloseSession:output_type -> threadlock.v1.CloseSessionResponse
	16, // 46: threadlock.v1.LockService.Status:output_type -> threadlock.v1.StatusResponse
	19, // 47: threadlock.v1.LockService.ForceRelease:output_type -> threadlock.v1.ForceReleaseResponse
	21, // 48: threadlock.v1.LockService.Watch:output_type -> threadlock.v1.WatchResponse
	41, // [41:49] is the sub-list for method output_type
	33, // [33:41] is the sub-list for method input_type
	33, // [33:33] is the sub-list for extension type_name
	33, // [33:33] is the sub-list for extension extendee
	0,  // [0:33] is the sub-list for field type_name
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
	file_threadlock_v1_lock_proto_msgTypes[19].OneofWrappers = []any{
		(*WatchRequest_Key)(nil),
		(*WatchRequest_Prefix)(nil),
	}
	type x struct{}
	out := protoimpl.TypeBuilder{
		File: protoimpl.DescBuilder{
			GoPackagePath: reflect.TypeOf(x{}).PkgPath(),
			RawDescriptor: unsafe.Slice(unsafe.StringData(file_threadlock_v1_lock_proto_rawDesc), len(file_threadlock_v1_lock_proto_rawDesc)),
			NumEnums:      1,
			NumMessages:   28,
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
