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

// @generated by protoc-gen-es v2.17.0 with parameter "target=ts,import_extension=js"
// @generated from file threadlock/v1/lock.proto (package threadlock.v1, syntax proto3)
/* eslint-disable */

import type { GenEnum, GenFile, GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import { enumDesc, fileDesc, messageDesc, serviceDesc } from "@bufbuild/protobuf/codegenv2";
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { file_google_protobuf_duration, file_google_protobuf_timestamp } from "@bufbuild/protobuf/wkt";
import type { Message } from "@bufbuild/protobuf";

/**
 * Describes the file threadlock/v1/lock.proto.
 */
export const file_threadlock_v1_lock: GenFile = /*@__PURE__*/
  fileDesc("Chh0aHJlYWRsb2NrL3YxL2xvY2sucHJvdG8SDXRocmVhZGxvY2sudjEimwIKDkFjcXVpcmVSZXF1ZXN0EgsKA2tleRgBIAEoCRINCgVvd25lchgCIAEoCRImCgN0dGwYAyABKAsyGS5nb29nbGUucHJvdG9idWYuRHVyYXRpb24SJwoEd2FpdBgEIAEoCzIZLmdvb2dsZS5wcm90b2J1Zi5EdXJhdGlvbhISCgpyZXF1ZXN0X2lkGAUgASgJEj0KCG1ldGFkYXRhGAYgAygLMisudGhyZWFkbG9jay52MS5BY3F1aXJlUmVxdWVzdC5NZXRhZGF0YUVudHJ5EhIKCnNlc3Npb25faWQYByABKAkaLwoNTWV0YWRhdGFFbnRyeRILCgNrZXkYASABKAkSDQoFdmFsdWUYAiABKAk6AjgBSgQIMhA8ImcKD0FjcXVpcmVSZXNwb25zZRIlCgVsZWFzZRgBIAEoCzIULnRocmVhZGxvY2sudjEuTGVhc2VIABIjCgRidXN5GAIgASgLMhMudGhyZWFkbG9jay52MS5CdXN5SABCCAoGcmVzdWx0IoEDCgVMZWFzZRILCgNrZXkYASABKAkSDQoFb3duZXIYAiABKAkSEwoLbGVhc2VfdG9rZW4YAyABKAkSFQoNZmVuY2luZ190b2tlbhgEIAEoAxIvCgthY3F1aXJlZF9hdBgFIAEoCzIaLmdvb2dsZS5wcm90b2J1Zi5UaW1lc3RhbXASLgoKZXhwaXJlc19hdBgGIAEoCzIaLmdvb2dsZS5wcm90b2J1Zi5UaW1lc3RhbXASJgoDdHRsGAcgASgLMhkuZ29vZ2xlLnByb3RvYnVmLkR1cmF0aW9uEjQKCG1ldGFkYXRhGAggAygLMiIudGhyZWFkbG9jay52MS5MZWFzZS5NZXRhZGF0YUVudHJ5EhIKCnNlc3Npb25faWQYCSABKAkSLAoJdmFsaWRfZm9yGAogASgLMhkuZ29vZ2xlLnByb3RvYnVmLkR1cmF0aW9uGi8KDU1ldGFkYXRhRW50cnkSCwoDa2V5GAEgASgJEg0KBXZhbHVlGAIgASgJOgI4ASKHAQoEQnVzeRILCgNrZXkYASABKAkSJQoGaG9sZGVyGAIgASgLMhUudGhyZWFkbG9jay52MS5Ib2xkZXISDwoHd2FpdGVycxgDIAEoBRIpCgZ3YWl0ZWQYBCABKAsyGS5nb29nbGUucHJvdG9idWYuRHVyYXRpb24SDwoHbWVzc2FnZRgFIAEoCSLTAgoGSG9sZGVyEg0KBW93bmVyGAEgASgJEhUKDWZlbmNpbmdfdG9rZW4YAiABKAMSLwoLYWNxdWlyZWRfYXQYAyABKAsyGi5nb29nbGUucHJvdG9idWYuVGltZXN0YW1wEi4KCmV4cGlyZXNfYXQYBCABKAsyGi5nb29nbGUucHJvdG9idWYuVGltZXN0YW1wEisKCGhlbGRfZm9yGAUgASgLMhkuZ29vZ2xlLnByb3RvYnVmLkR1cmF0aW9uEi0KCmV4cGlyZXNfaW4YBiABKAsyGS5nb29nbGUucHJvdG9idWYuRHVyYXRpb24SNQoIbWV0YWRhdGEYByADKAsyIy50aHJlYWRsb2NrLnYxLkhvbGRlci5NZXRhZGF0YUVudHJ5Gi8KDU1ldGFkYXRhRW50cnkSCwoDa2V5GAEgASgJEg0KBXZhbHVlGAIgASgJOgI4ASLAAQoGV2FpdGVyEg0KBW93bmVyGAEgASgJEhAKCHBvc2l0aW9uGAIgASgFEi0KCXF1ZXVlZF9hdBgDIAEoCzIaLmdvb2dsZS5wcm90b2J1Zi5UaW1lc3RhbXASNQoIbWV0YWRhdGEYBCADKAsyIy50aHJlYWRsb2NrLnYxLldhaXRlci5NZXRhZGF0YUVudHJ5Gi8KDU1ldGFkYXRhRW50cnkSCwoDa2V5GAEgASgJEg0KBXZhbHVlGAIgASgJOgI4ASLBAQoQS2VlcEFsaXZlUmVxdWVzdBIVCgtsZWFzZV90b2tlbhgBIAEoCUgAEhQKCnNlc3Npb25faWQYAiABKAlIABI/CghtZXRhZGF0YRgDIAMoCzItLnRocmVhZGxvY2sudjEuS2VlcEFsaXZlUmVxdWVzdC5NZXRhZGF0YUVudHJ5Gi8KDU1ldGFkYXRhRW50cnkSCwoDa2V5GAEgASgJEg0KBXZhbHVlGAIgASgJOgI4AUIICgZ0YXJnZXRKBAgyEDwiawoRS2VlcEFsaXZlUmVzcG9uc2USLgoKZXhwaXJlc19hdBgBIAEoCzIaLmdvb2dsZS5wcm90b2J1Zi5UaW1lc3RhbXASJgoDdHRsGAIgASgLMhkuZ29vZ2xlLnByb3RvYnVmLkR1cmF0aW9uIisKDlJlbGVhc2VSZXF1ZXN0EhMKC2xlYXNlX3Rva2VuGAEgASgJSgQIMhA8IiMKD1JlbGVhc2VSZXNwb25zZRIQCghyZWxlYXNlZBgBIAEoCCJRChJPcGVuU2Vzc2lvblJlcXVlc3QSDQoFb3duZXIYASABKAkSJgoDdHRsGAIgASgLMhkuZ29vZ2xlLnByb3RvYnVmLkR1cmF0aW9uSgQIMhA8IoEBChNPcGVuU2Vzc2lvblJlc3BvbnNlEhIKCnNlc3Npb25faWQYASABKAkSLgoKZXhwaXJlc19hdBgCIAEoCzIaLmdvb2dsZS5wcm90b2J1Zi5UaW1lc3RhbXASJgoDdHRsGAMgASgLMhkuZ29vZ2xlLnByb3RvYnVmLkR1cmF0aW9uIi8KE0Nsb3NlU2Vzc2lvblJlcXVlc3QSEgoKc2Vzc2lvbl9pZBgBIAEoCUoECDIQPCImChRDbG9zZVNlc3Npb25SZXNwb25zZRIOCgZjbG9zZWQYASABKAgiaQoNU3RhdHVzUmVxdWVzdBINCgNrZXkYASABKAlIABIQCgZwcmVmaXgYAiABKAlIABIRCglwYWdlX3NpemUYAyABKAUSEgoKcGFnZV90b2tlbhgEIAEoCUIKCghzZWxlY3RvckoECDIQPCJSCg5TdGF0dXNSZXNwb25zZRInCgVsb2NrcxgBIAMoCzIYLnRocmVhZGxvY2sudjEuTG9ja1N0YXRlEhcKD25leHRfcGFnZV90b2tlbhgCIAEoCSJnCglMb2NrU3RhdGUSCwoDa2V5GAEgASgJEiUKBmhvbGRlchgCIAEoCzIVLnRocmVhZGxvY2sudjEuSG9sZGVyEiYKB3dhaXRlcnMYAyADKAsyFS50aHJlYWRsb2NrLnYxLldhaXRlciLvBAoNU3RyZWFtUmVxdWVzdBIPCgdjYWxsX2lkGAEgASgEEioKB3RpbWVvdXQYAiABKAsyGS5nb29nbGUucHJvdG9idWYuRHVyYXRpb24SOgoHaGVhZGVycxgDIAMoCzIpLnRocmVhZGxvY2sudjEuU3RyZWFtUmVxdWVzdC5IZWFkZXJzRW50cnkSMAoHYWNxdWlyZRgKIAEoCzIdLnRocmVhZGxvY2sudjEuQWNxdWlyZVJlcXVlc3RIABI1CgprZWVwX2FsaXZlGAsgASgLMh8udGhyZWFkbG9jay52MS5LZWVwQWxpdmVSZXF1ZXN0SAASMAoHcmVsZWFzZRgMIAEoCzIdLnRocmVhZGxvY2sudjEuUmVsZWFzZVJlcXVlc3RIABI5CgxvcGVuX3Nlc3Npb24YDSABKAsyIS50aHJlYWRsb2NrLnYxLk9wZW5TZXNzaW9uUmVxdWVzdEgAEjsKDWNsb3NlX3Nlc3Npb24YDiABKAsyIi50aHJlYWRsb2NrLnYxLkNsb3NlU2Vzc2lvblJlcXVlc3RIABIuCgZzdGF0dXMYDyABKAsyHC50aHJlYWRsb2NrLnYxLlN0YXR1c1JlcXVlc3RIABI7Cg1mb3JjZV9yZWxlYXNlGBAgASgLMiIudGhyZWFkbG9jay52MS5Gb3JjZVJlbGVhc2VSZXF1ZXN0SAASLQoGY2FuY2VsGBQgASgLMhsudGhyZWFkbG9jay52MS5TdHJlYW1DYW5jZWxIABouCgxIZWFkZXJzRW50cnkSCwoDa2V5GAEgASgJEg0KBXZhbHVlGAIgASgJOgI4AUIGCgRjYWxsIg4KDFN0cmVhbUNhbmNlbCLfAwoOU3RyZWFtUmVzcG9uc2USDwoHY2FsbF9pZBgBIAEoBBIrCgVlcnJvchgCIAEoCzIaLnRocmVhZGxvY2sudjEuU3RyZWFtRXJyb3JIABIxCgdhY3F1aXJlGAogASgLMh4udGhyZWFkbG9jay52MS5BY3F1aXJlUmVzcG9uc2VIABI2CgprZWVwX2FsaXZlGAsgASgLMiAudGhyZWFkbG9jay52MS5LZWVwQWxpdmVSZXNwb25zZUgAEjEKB3JlbGVhc2UYDCABKAsyHi50aHJlYWRsb2NrLnYxLlJlbGVhc2VSZXNwb25zZUgAEjoKDG9wZW5fc2Vzc2lvbhgNIAEoCzIiLnRocmVhZGxvY2sudjEuT3BlblNlc3Npb25SZXNwb25zZUgAEjwKDWNsb3NlX3Nlc3Npb24YDiABKAsyIy50aHJlYWRsb2NrLnYxLkNsb3NlU2Vzc2lvblJlc3BvbnNlSAASLwoGc3RhdHVzGA8gASgLMh0udGhyZWFkbG9jay52MS5TdGF0dXNSZXNwb25zZUgAEjwKDWZvcmNlX3JlbGVhc2UYECABKAsyIy50aHJlYWRsb2NrLnYxLkZvcmNlUmVsZWFzZVJlc3BvbnNlSABCCAoGcmVzdWx0IiwKC1N0cmVhbUVycm9yEgwKBGNvZGUYASABKAUSDwoHbWVzc2FnZRgCIAEoCSJCChNGb3JjZVJlbGVhc2VSZXF1ZXN0EgsKA2tleRgBIAEoCRIOCgZ0ZW5hbnQYAiABKAkSDgoGcmVhc29uGAMgASgJIk4KFEZvcmNlUmVsZWFzZVJlc3BvbnNlEhAKCHJlbGVhc2VkGAEgASgIEg0KBW93bmVyGAIgASgJEhUKDWZlbmNpbmdfdG9rZW4YAyABKAMiUQoMV2F0Y2hSZXF1ZXN0Eg0KA2tleRgBIAEoCUgAEhAKBnByZWZpeBgCIAEoCUgAEg4KBmN1cnNvchgDIAEoCUIKCghzZWxlY3RvckoECDIQPCI6Cg1XYXRjaFJlc3BvbnNlEikKBmV2ZW50cxgBIAMoCzIZLnRocmVhZGxvY2sudjEuV2F0Y2hFdmVudCLzBAoKV2F0Y2hFdmVudBIsCgRraW5kGAEgASgOMh4udGhyZWFkbG9jay52MS5XYXRjaEV2ZW50LktpbmQSCwoDa2V5GAIgASgJEg0KBW93bmVyGAMgASgJEhUKDWZlbmNpbmdfdG9rZW4YBCABKAMSOQoIbWV0YWRhdGEYBSADKAsyJy50aHJlYWRsb2NrLnYxLldhdGNoRXZlbnQuTWV0YWRhdGFFbnRyeRIoCgR0aW1lGAYgASgLMhouZ29vZ2xlLnByb3RvYnVmLlRpbWVzdGFtcBIOCgZjdXJzb3IYByABKAkSEAoIcmV2aXNpb24YCCABKAMSEAoIc25hcHNob3QYCSABKAgSEwoLdHRsX3NlY29uZHMYCiABKAMSLQoJcXVldWVkX2F0GAsgASgLMhouZ29vZ2xlLnByb3RvYnVmLlRpbWVzdGFtcBIvCgthY3F1aXJlZF9hdBgMIAEoCzIaLmdvb2dsZS5wcm90b2J1Zi5UaW1lc3RhbXAaLwoNTWV0YWRhdGFFbnRyeRILCgNrZXkYASABKAkSDQoFdmFsdWUYAiABKAk6AjgBIsQBCgRLaW5kEhQKEEtJTkRfVU5TUEVDSUZJRUQQABIQCgxLSU5EX0dSQU5URUQQARIRCg1LSU5EX1JFTEVBU0VEEAISEAoMS0lORF9FWFBJUkVEEAMSDwoLS0lORF9RVUVVRUQQBBITCg9LSU5EX0xFRlRfUVVFVUUQBRIZChVLSU5EX01FVEFEQVRBX0NIQU5HRUQQBhIVChFLSU5EX1NOQVBTSE9UX0VORBAHEhcKE0tJTkRfQ1VSU09SX1RPT19PTEQQCDLRBQoLTG9ja1NlcnZpY2USSAoHQWNxdWlyZRIdLnRocmVhZGxvY2sudjEuQWNxdWlyZVJlcXVlc3QaHi50aHJlYWRsb2NrLnYxLkFjcXVpcmVSZXNwb25zZRJOCglLZWVwQWxpdmUSHy50aHJlYWRsb2NrLnYxLktlZXBBbGl2ZVJlcXVlc3QaIC50aHJlYWRsb2NrLnYxLktlZXBBbGl2ZVJlc3BvbnNlEkgKB1JlbGVhc2USHS50aHJlYWRsb2NrLnYxLlJlbGVhc2VSZXF1ZXN0Gh4udGhyZWFkbG9jay52MS5SZWxlYXNlUmVzcG9uc2USVAoLT3BlblNlc3Npb24SIS50aHJlYWRsb2NrLnYxLk9wZW5TZXNzaW9uUmVxdWVzdBoiLnRocmVhZGxvY2sudjEuT3BlblNlc3Npb25SZXNwb25zZRJXCgxDbG9zZVNlc3Npb24SIi50aHJlYWRsb2NrLnYxLkNsb3NlU2Vzc2lvblJlcXVlc3QaIy50aHJlYWRsb2NrLnYxLkNsb3NlU2Vzc2lvblJlc3BvbnNlEkUKBlN0YXR1cxIcLnRocmVhZGxvY2sudjEuU3RhdHVzUmVxdWVzdBodLnRocmVhZGxvY2sudjEuU3RhdHVzUmVzcG9uc2USSQoGU3RyZWFtEhwudGhyZWFkbG9jay52MS5TdHJlYW1SZXF1ZXN0Gh0udGhyZWFkbG9jay52MS5TdHJlYW1SZXNwb25zZSgBMAESVwoMRm9yY2VSZWxlYXNlEiIudGhyZWFkbG9jay52MS5Gb3JjZVJlbGVhc2VSZXF1ZXN0GiMudGhyZWFkbG9jay52MS5Gb3JjZVJlbGVhc2VSZXNwb25zZRJECgVXYXRjaBIbLnRocmVhZGxvY2sudjEuV2F0Y2hSZXF1ZXN0GhwudGhyZWFkbG9jay52MS5XYXRjaFJlc3BvbnNlMAFCaQoRZGV2LnRocmVhZGxvY2sudjFQAVpCZ2l0aHViLmNvbS90aHJlYWRsb2NrL3RocmVhZGxvY2svZ2VuL2dvL3RocmVhZGxvY2svdjE7dGhyZWFkbG9ja3YxygINVGhyZWFkbG9ja1xWMWIGcHJvdG8z", [file_google_protobuf_duration, file_google_protobuf_timestamp]);

/**
 * @generated from message threadlock.v1.AcquireRequest
 */
export type AcquireRequest = Message<"threadlock.v1.AcquireRequest"> & {
  /**
   * The key to lock: 1-512 bytes of UTF-8 without control characters.
   *
   * @generated from field: string key = 1;
   */
  key: string;

  /**
   * Who asks, for humans and Status: "worker-3@pod-a". 1-256 bytes, no control characters.
   *
   * @generated from field: string owner = 2;
   */
  owner: string;

  /**
   * Lease TTL (whole seconds, see "Time"). Required unless session_id is set; must be unset
   * when it is (the session's TTL applies).
   *
   * @generated from field: google.protobuf.Duration ttl = 3;
   */
  ttl?: Duration | undefined;

  /**
   * How long to queue: unset or 0 = try once; at most the server's max_wait (default 600 s).
   *
   * @generated from field: google.protobuf.Duration wait = 4;
   */
  wait?: Duration | undefined;

  /**
   * Idempotency key, 1-128 bytes, unique per logical acquire. Optional but recommended: a
   * retry after a lost response or UNAVAILABLE is only safe with it.
   *
   * @generated from field: string request_id = 5;
   */
  requestId: string;

  /**
   * Small annotations shown by Status, e.g. {"run_id": "run_123"}: at most 16 entries, keys
   * 1-64 bytes, values up to 1024 bytes.
   *
   * @generated from field: map<string, string> metadata = 6;
   */
  metadata: { [key: string]: string };

  /**
   * Acquire under this session's lease instead of a lease of its own.
   *
   * @generated from field: string session_id = 7;
   */
  sessionId: string;
};

/**
 * Describes the message threadlock.v1.AcquireRequest.
 * Use `create(AcquireRequestSchema)` to create a new message.
 */
export const AcquireRequestSchema: GenMessage<AcquireRequest> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 0);

/**
 * @generated from message threadlock.v1.AcquireResponse
 */
export type AcquireResponse = Message<"threadlock.v1.AcquireResponse"> & {
  /**
   * @generated from oneof threadlock.v1.AcquireResponse.result
   */
  result: {
    /**
     * The key is yours.
     *
     * @generated from field: threadlock.v1.Lease lease = 1;
     */
    value: Lease;
    case: "lease";
  } | {
    /**
     * Someone else holds it (and the wait, if any, elapsed).
     *
     * @generated from field: threadlock.v1.Busy busy = 2;
     */
    value: Busy;
    case: "busy";
  } | { case: undefined; value?: undefined };
};

/**
 * Describes the message threadlock.v1.AcquireResponse.
 * Use `create(AcquireResponseSchema)` to create a new message.
 */
export const AcquireResponseSchema: GenMessage<AcquireResponse> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 1);

/**
 * A granted lock.
 *
 * @generated from message threadlock.v1.Lease
 */
export type Lease = Message<"threadlock.v1.Lease"> & {
  /**
   * @generated from field: string key = 1;
   */
  key: string;

  /**
   * @generated from field: string owner = 2;
   */
  owner: string;

  /**
   * Opaque; KeepAlive and Release take it. Treat it as a secret: it releases the lock.
   *
   * @generated from field: string lease_token = 3;
   */
  leaseToken: string;

  /**
   * Strictly increases on every grant of this key. Hand it to the protected resource.
   *
   * @generated from field: int64 fencing_token = 4;
   */
  fencingToken: bigint;

  /**
   * @generated from field: google.protobuf.Timestamp acquired_at = 5;
   */
  acquiredAt?: Timestamp | undefined;

  /**
   * When the lease lapses unless renewed (or unless its session is renewed).
   *
   * @generated from field: google.protobuf.Timestamp expires_at = 6;
   */
  expiresAt?: Timestamp | undefined;

  /**
   * The lease TTL in force (whole seconds).
   *
   * @generated from field: google.protobuf.Duration ttl = 7;
   */
  ttl?: Duration | undefined;

  /**
   * @generated from field: map<string, string> metadata = 8;
   */
  metadata: { [key: string]: string };

  /**
   * Set when the lock lives under a session.
   *
   * @generated from field: string session_id = 9;
   */
  sessionId: string;

  /**
   * The lease lasts at least this long counted from when the coordinator received this
   * Acquire (the time it queued included), on the coordinator's monotonic clock. A client
   * adds it to the moment it SENT the request to get a conservative expiry on its own clock,
   * with no wall-clock skew, that stays right when the answer arrives late (a paused client,
   * a slow network, a retried call): an answer that arrives after that moment carries a
   * lease that may already have lapsed, so the client must not use it (release it and
   * acquire again). Unset from coordinators older than this field.
   *
   * @generated from field: google.protobuf.Duration valid_for = 10;
   */
  validFor?: Duration | undefined;
};

/**
 * Describes the message threadlock.v1.Lease.
 * Use `create(LeaseSchema)` to create a new message.
 */
export const LeaseSchema: GenMessage<Lease> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 2);

/**
 * The key is held by someone else.
 *
 * @generated from message threadlock.v1.Busy
 */
export type Busy = Message<"threadlock.v1.Busy"> & {
  /**
   * @generated from field: string key = 1;
   */
  key: string;

  /**
   * The holder: owner, since when, until when, fencing token, metadata.
   *
   * @generated from field: threadlock.v1.Holder holder = 2;
   */
  holder?: Holder | undefined;

  /**
   * How many callers queue for the key (not counting the holder).
   *
   * @generated from field: int32 waiters = 3;
   */
  waiters: number;

  /**
   * How long this call waited before giving up (0 for a try-once call).
   *
   * @generated from field: google.protobuf.Duration waited = 4;
   */
  waited?: Duration | undefined;

  /**
   * A sentence for an end user, e.g. "Conversation conv_1 is busy with another request
   * (held by worker-3@pod-a for 12s). Please wait for it to finish and try again."
   *
   * @generated from field: string message = 5;
   */
  message: string;
};

/**
 * Describes the message threadlock.v1.Busy.
 * Use `create(BusySchema)` to create a new message.
 */
export const BusySchema: GenMessage<Busy> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 3);

/**
 * @generated from message threadlock.v1.Holder
 */
export type Holder = Message<"threadlock.v1.Holder"> & {
  /**
   * @generated from field: string owner = 1;
   */
  owner: string;

  /**
   * @generated from field: int64 fencing_token = 2;
   */
  fencingToken: bigint;

  /**
   * @generated from field: google.protobuf.Timestamp acquired_at = 3;
   */
  acquiredAt?: Timestamp | undefined;

  /**
   * @generated from field: google.protobuf.Timestamp expires_at = 4;
   */
  expiresAt?: Timestamp | undefined;

  /**
   * Derived for convenience: now - acquired_at and expires_at - now, at the server's clock.
   *
   * @generated from field: google.protobuf.Duration held_for = 5;
   */
  heldFor?: Duration | undefined;

  /**
   * @generated from field: google.protobuf.Duration expires_in = 6;
   */
  expiresIn?: Duration | undefined;

  /**
   * @generated from field: map<string, string> metadata = 7;
   */
  metadata: { [key: string]: string };
};

/**
 * Describes the message threadlock.v1.Holder.
 * Use `create(HolderSchema)` to create a new message.
 */
export const HolderSchema: GenMessage<Holder> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 4);

/**
 * @generated from message threadlock.v1.Waiter
 */
export type Waiter = Message<"threadlock.v1.Waiter"> & {
  /**
   * @generated from field: string owner = 1;
   */
  owner: string;

  /**
   * 1 = next in line.
   *
   * @generated from field: int32 position = 2;
   */
  position: number;

  /**
   * @generated from field: google.protobuf.Timestamp queued_at = 3;
   */
  queuedAt?: Timestamp | undefined;

  /**
   * @generated from field: map<string, string> metadata = 4;
   */
  metadata: { [key: string]: string };
};

/**
 * Describes the message threadlock.v1.Waiter.
 * Use `create(WaiterSchema)` to create a new message.
 */
export const WaiterSchema: GenMessage<Waiter> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 5);

/**
 * @generated from message threadlock.v1.KeepAliveRequest
 */
export type KeepAliveRequest = Message<"threadlock.v1.KeepAliveRequest"> & {
  /**
   * @generated from oneof threadlock.v1.KeepAliveRequest.target
   */
  target: {
    /**
     * Renew one lock's own lease.
     *
     * @generated from field: string lease_token = 1;
     */
    value: string;
    case: "leaseToken";
  } | {
    /**
     * Renew a session (and with it every lock under it).
     *
     * @generated from field: string session_id = 2;
     */
    value: string;
    case: "sessionId";
  } | { case: undefined; value?: undefined };

  /**
   * Optional, with lease_token only: merged into the lock's metadata while renewing, so Status
   * shows what the holder is doing now (e.g. {"response_id": "resp_1"}). An empty value
   * deletes that key; the merged map obeys Acquire's metadata limits. Omit it to only renew.
   *
   * @generated from field: map<string, string> metadata = 3;
   */
  metadata: { [key: string]: string };
};

/**
 * Describes the message threadlock.v1.KeepAliveRequest.
 * Use `create(KeepAliveRequestSchema)` to create a new message.
 */
export const KeepAliveRequestSchema: GenMessage<KeepAliveRequest> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 6);

/**
 * @generated from message threadlock.v1.KeepAliveResponse
 */
export type KeepAliveResponse = Message<"threadlock.v1.KeepAliveResponse"> & {
  /**
   * @generated from field: google.protobuf.Timestamp expires_at = 1;
   */
  expiresAt?: Timestamp | undefined;

  /**
   * @generated from field: google.protobuf.Duration ttl = 2;
   */
  ttl?: Duration | undefined;
};

/**
 * Describes the message threadlock.v1.KeepAliveResponse.
 * Use `create(KeepAliveResponseSchema)` to create a new message.
 */
export const KeepAliveResponseSchema: GenMessage<KeepAliveResponse> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 7);

/**
 * @generated from message threadlock.v1.ReleaseRequest
 */
export type ReleaseRequest = Message<"threadlock.v1.ReleaseRequest"> & {
  /**
   * @generated from field: string lease_token = 1;
   */
  leaseToken: string;
};

/**
 * Describes the message threadlock.v1.ReleaseRequest.
 * Use `create(ReleaseRequestSchema)` to create a new message.
 */
export const ReleaseRequestSchema: GenMessage<ReleaseRequest> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 8);

/**
 * @generated from message threadlock.v1.ReleaseResponse
 */
export type ReleaseResponse = Message<"threadlock.v1.ReleaseResponse"> & {
  /**
   * true: this call released the lock (or left the queue). false: an earlier call already did.
   *
   * @generated from field: bool released = 1;
   */
  released: boolean;
};

/**
 * Describes the message threadlock.v1.ReleaseResponse.
 * Use `create(ReleaseResponseSchema)` to create a new message.
 */
export const ReleaseResponseSchema: GenMessage<ReleaseResponse> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 9);

/**
 * @generated from message threadlock.v1.OpenSessionRequest
 */
export type OpenSessionRequest = Message<"threadlock.v1.OpenSessionRequest"> & {
  /**
   * Who owns the session: "billing-worker@pod-a". Same rules as AcquireRequest.owner.
   *
   * @generated from field: string owner = 1;
   */
  owner: string;

  /**
   * Session TTL; same bounds as a lease TTL. Renew every ttl/3.
   *
   * @generated from field: google.protobuf.Duration ttl = 2;
   */
  ttl?: Duration | undefined;
};

/**
 * Describes the message threadlock.v1.OpenSessionRequest.
 * Use `create(OpenSessionRequestSchema)` to create a new message.
 */
export const OpenSessionRequestSchema: GenMessage<OpenSessionRequest> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 10);

/**
 * @generated from message threadlock.v1.OpenSessionResponse
 */
export type OpenSessionResponse = Message<"threadlock.v1.OpenSessionResponse"> & {
  /**
   * Opaque; pass it to Acquire, KeepAlive and CloseSession.
   *
   * @generated from field: string session_id = 1;
   */
  sessionId: string;

  /**
   * @generated from field: google.protobuf.Timestamp expires_at = 2;
   */
  expiresAt?: Timestamp | undefined;

  /**
   * @generated from field: google.protobuf.Duration ttl = 3;
   */
  ttl?: Duration | undefined;
};

/**
 * Describes the message threadlock.v1.OpenSessionResponse.
 * Use `create(OpenSessionResponseSchema)` to create a new message.
 */
export const OpenSessionResponseSchema: GenMessage<OpenSessionResponse> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 11);

/**
 * @generated from message threadlock.v1.CloseSessionRequest
 */
export type CloseSessionRequest = Message<"threadlock.v1.CloseSessionRequest"> & {
  /**
   * @generated from field: string session_id = 1;
   */
  sessionId: string;
};

/**
 * Describes the message threadlock.v1.CloseSessionRequest.
 * Use `create(CloseSessionRequestSchema)` to create a new message.
 */
export const CloseSessionRequestSchema: GenMessage<CloseSessionRequest> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 12);

/**
 * @generated from message threadlock.v1.CloseSessionResponse
 */
export type CloseSessionResponse = Message<"threadlock.v1.CloseSessionResponse"> & {
  /**
   * true: this call ended the session. false: it had already ended.
   *
   * @generated from field: bool closed = 1;
   */
  closed: boolean;
};

/**
 * Describes the message threadlock.v1.CloseSessionResponse.
 * Use `create(CloseSessionResponseSchema)` to create a new message.
 */
export const CloseSessionResponseSchema: GenMessage<CloseSessionResponse> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 13);

/**
 * @generated from message threadlock.v1.StatusRequest
 */
export type StatusRequest = Message<"threadlock.v1.StatusRequest"> & {
  /**
   * @generated from oneof threadlock.v1.StatusRequest.selector
   */
  selector: {
    /**
     * Exactly this key.
     *
     * @generated from field: string key = 1;
     */
    value: string;
    case: "key";
  } | {
    /**
     * Every key that starts with this prefix; "" lists everything.
     *
     * @generated from field: string prefix = 2;
     */
    value: string;
    case: "prefix";
  } | { case: undefined; value?: undefined };

  /**
   * Keys per page, 1-1000; 0 means 100.
   *
   * @generated from field: int32 page_size = 3;
   */
  pageSize: number;

  /**
   * From a previous StatusResponse.next_page_token.
   *
   * @generated from field: string page_token = 4;
   */
  pageToken: string;
};

/**
 * Describes the message threadlock.v1.StatusRequest.
 * Use `create(StatusRequestSchema)` to create a new message.
 */
export const StatusRequestSchema: GenMessage<StatusRequest> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 14);

/**
 * @generated from message threadlock.v1.StatusResponse
 */
export type StatusResponse = Message<"threadlock.v1.StatusResponse"> & {
  /**
   * Held or queued keys, sorted by key. A key nobody holds or waits for is not listed.
   *
   * @generated from field: repeated threadlock.v1.LockState locks = 1;
   */
  locks: LockState[];

  /**
   * Empty on the last page.
   *
   * @generated from field: string next_page_token = 2;
   */
  nextPageToken: string;
};

/**
 * Describes the message threadlock.v1.StatusResponse.
 * Use `create(StatusResponseSchema)` to create a new message.
 */
export const StatusResponseSchema: GenMessage<StatusResponse> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 15);

/**
 * @generated from message threadlock.v1.LockState
 */
export type LockState = Message<"threadlock.v1.LockState"> & {
  /**
   * @generated from field: string key = 1;
   */
  key: string;

  /**
   * @generated from field: threadlock.v1.Holder holder = 2;
   */
  holder?: Holder | undefined;

  /**
   * In the order they will be served.
   *
   * @generated from field: repeated threadlock.v1.Waiter waiters = 3;
   */
  waiters: Waiter[];
};

/**
 * Describes the message threadlock.v1.LockState.
 * Use `create(LockStateSchema)` to create a new message.
 */
export const LockStateSchema: GenMessage<LockState> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 16);

/**
 * One call on LockService.Stream (see there), or the cancellation of one.
 *
 * @generated from message threadlock.v1.StreamRequest
 */
export type StreamRequest = Message<"threadlock.v1.StreamRequest"> & {
  /**
   * Chosen by the client: > 0 and unique among its calls in flight on this stream (a counter
   * will do). The answer carries it back; a cancel names it.
   *
   * @generated from field: uint64 call_id = 1;
   */
  callId: bigint;

  /**
   * This call's deadline, counted from when the server reads the frame. Unset: none.
   *
   * @generated from field: google.protobuf.Duration timeout = 2;
   */
  timeout?: Duration | undefined;

  /**
   * Per-call metadata, as a unary call's gRPC metadata would carry it: e.g. W3C trace context
   * ("traceparent", "tracestate"). Keys are lower case. Never credentials: those travel once,
   * in the stream's own metadata.
   *
   * @generated from field: map<string, string> headers = 3;
   */
  headers: { [key: string]: string };

  /**
   * @generated from oneof threadlock.v1.StreamRequest.call
   */
  call: {
    /**
     * @generated from field: threadlock.v1.AcquireRequest acquire = 10;
     */
    value: AcquireRequest;
    case: "acquire";
  } | {
    /**
     * @generated from field: threadlock.v1.KeepAliveRequest keep_alive = 11;
     */
    value: KeepAliveRequest;
    case: "keepAlive";
  } | {
    /**
     * @generated from field: threadlock.v1.ReleaseRequest release = 12;
     */
    value: ReleaseRequest;
    case: "release";
  } | {
    /**
     * @generated from field: threadlock.v1.OpenSessionRequest open_session = 13;
     */
    value: OpenSessionRequest;
    case: "openSession";
  } | {
    /**
     * @generated from field: threadlock.v1.CloseSessionRequest close_session = 14;
     */
    value: CloseSessionRequest;
    case: "closeSession";
  } | {
    /**
     * @generated from field: threadlock.v1.StatusRequest status = 15;
     */
    value: StatusRequest;
    case: "status";
  } | {
    /**
     * @generated from field: threadlock.v1.ForceReleaseRequest force_release = 16;
     */
    value: ForceReleaseRequest;
    case: "forceRelease";
  } | {
    /**
     * Cancel the call in flight with this call_id.
     *
     * @generated from field: threadlock.v1.StreamCancel cancel = 20;
     */
    value: StreamCancel;
    case: "cancel";
  } | { case: undefined; value?: undefined };
};

/**
 * Describes the message threadlock.v1.StreamRequest.
 * Use `create(StreamRequestSchema)` to create a new message.
 */
export const StreamRequestSchema: GenMessage<StreamRequest> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 17);

/**
 * Cancels a call on LockService.Stream (StreamRequest.cancel); it carries nothing else.
 *
 * @generated from message threadlock.v1.StreamCancel
 */
export type StreamCancel = Message<"threadlock.v1.StreamCancel"> & {
};

/**
 * Describes the message threadlock.v1.StreamCancel.
 * Use `create(StreamCancelSchema)` to create a new message.
 */
export const StreamCancelSchema: GenMessage<StreamCancel> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 18);

/**
 * The one answer to a call on LockService.Stream: the response a unary call would return, or
 * the status it would fail with.
 *
 * @generated from message threadlock.v1.StreamResponse
 */
export type StreamResponse = Message<"threadlock.v1.StreamResponse"> & {
  /**
   * The call_id of the call answered.
   *
   * @generated from field: uint64 call_id = 1;
   */
  callId: bigint;

  /**
   * @generated from oneof threadlock.v1.StreamResponse.result
   */
  result: {
    /**
     * The call failed: the gRPC status code and message a unary call would get.
     *
     * @generated from field: threadlock.v1.StreamError error = 2;
     */
    value: StreamError;
    case: "error";
  } | {
    /**
     * @generated from field: threadlock.v1.AcquireResponse acquire = 10;
     */
    value: AcquireResponse;
    case: "acquire";
  } | {
    /**
     * @generated from field: threadlock.v1.KeepAliveResponse keep_alive = 11;
     */
    value: KeepAliveResponse;
    case: "keepAlive";
  } | {
    /**
     * @generated from field: threadlock.v1.ReleaseResponse release = 12;
     */
    value: ReleaseResponse;
    case: "release";
  } | {
    /**
     * @generated from field: threadlock.v1.OpenSessionResponse open_session = 13;
     */
    value: OpenSessionResponse;
    case: "openSession";
  } | {
    /**
     * @generated from field: threadlock.v1.CloseSessionResponse close_session = 14;
     */
    value: CloseSessionResponse;
    case: "closeSession";
  } | {
    /**
     * @generated from field: threadlock.v1.StatusResponse status = 15;
     */
    value: StatusResponse;
    case: "status";
  } | {
    /**
     * @generated from field: threadlock.v1.ForceReleaseResponse force_release = 16;
     */
    value: ForceReleaseResponse;
    case: "forceRelease";
  } | { case: undefined; value?: undefined };
};

/**
 * Describes the message threadlock.v1.StreamResponse.
 * Use `create(StreamResponseSchema)` to create a new message.
 */
export const StreamResponseSchema: GenMessage<StreamResponse> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 19);

/**
 * A call's failure on LockService.Stream, shaped like google.rpc.Status (code and message).
 *
 * @generated from message threadlock.v1.StreamError
 */
export type StreamError = Message<"threadlock.v1.StreamError"> & {
  /**
   * A gRPC status code (google.rpc.Code): 3 INVALID_ARGUMENT, 5 NOT_FOUND, 14 UNAVAILABLE, ...
   *
   * @generated from field: int32 code = 1;
   */
  code: number;

  /**
   * What the unary call's status message would say, e.g. "ttl: must be between 2s and ...".
   *
   * @generated from field: string message = 2;
   */
  message: string;
};

/**
 * Describes the message threadlock.v1.StreamError.
 * Use `create(StreamErrorSchema)` to create a new message.
 */
export const StreamErrorSchema: GenMessage<StreamError> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 20);

/**
 * @generated from message threadlock.v1.ForceReleaseRequest
 */
export type ForceReleaseRequest = Message<"threadlock.v1.ForceReleaseRequest"> & {
  /**
   * The key as its tenant names it.
   *
   * @generated from field: string key = 1;
   */
  key: string;

  /**
   * The tenant whose key it is.
   *
   * @generated from field: string tenant = 2;
   */
  tenant: string;

  /**
   * Why, for the audit log: 1-1024 bytes, e.g. "INC-123: worker stuck since 09:00".
   *
   * @generated from field: string reason = 3;
   */
  reason: string;
};

/**
 * Describes the message threadlock.v1.ForceReleaseRequest.
 * Use `create(ForceReleaseRequestSchema)` to create a new message.
 */
export const ForceReleaseRequestSchema: GenMessage<ForceReleaseRequest> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 21);

/**
 * @generated from message threadlock.v1.ForceReleaseResponse
 */
export type ForceReleaseResponse = Message<"threadlock.v1.ForceReleaseResponse"> & {
  /**
   * true: this call released it. false: it was released in the meantime.
   *
   * @generated from field: bool released = 1;
   */
  released: boolean;

  /**
   * Who held it, and the fencing token of that grant.
   *
   * @generated from field: string owner = 2;
   */
  owner: string;

  /**
   * @generated from field: int64 fencing_token = 3;
   */
  fencingToken: bigint;
};

/**
 * Describes the message threadlock.v1.ForceReleaseResponse.
 * Use `create(ForceReleaseResponseSchema)` to create a new message.
 */
export const ForceReleaseResponseSchema: GenMessage<ForceReleaseResponse> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 22);

/**
 * @generated from message threadlock.v1.WatchRequest
 */
export type WatchRequest = Message<"threadlock.v1.WatchRequest"> & {
  /**
   * @generated from oneof threadlock.v1.WatchRequest.selector
   */
  selector: {
    /**
     * Exactly this key.
     *
     * @generated from field: string key = 1;
     */
    value: string;
    case: "key";
  } | {
    /**
     * Every key that starts with this prefix; "" watches everything.
     *
     * @generated from field: string prefix = 2;
     */
    value: string;
    case: "prefix";
  } | { case: undefined; value?: undefined };

  /**
   * Resume after the event that carried this cursor; empty: start with a snapshot.
   *
   * @generated from field: string cursor = 3;
   */
  cursor: string;
};

/**
 * Describes the message threadlock.v1.WatchRequest.
 * Use `create(WatchRequestSchema)` to create a new message.
 */
export const WatchRequestSchema: GenMessage<WatchRequest> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 23);

/**
 * @generated from message threadlock.v1.WatchResponse
 */
export type WatchResponse = Message<"threadlock.v1.WatchResponse"> & {
  /**
   * In order; never empty.
   *
   * @generated from field: repeated threadlock.v1.WatchEvent events = 1;
   */
  events: WatchEvent[];
};

/**
 * Describes the message threadlock.v1.WatchResponse.
 * Use `create(WatchResponseSchema)` to create a new message.
 */
export const WatchResponseSchema: GenMessage<WatchResponse> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 24);

/**
 * @generated from message threadlock.v1.WatchEvent
 */
export type WatchEvent = Message<"threadlock.v1.WatchEvent"> & {
  /**
   * @generated from field: threadlock.v1.WatchEvent.Kind kind = 1;
   */
  kind: WatchEvent_Kind;

  /**
   * @generated from field: string key = 2;
   */
  key: string;

  /**
   * @generated from field: string owner = 3;
   */
  owner: string;

  /**
   * The contender's fencing token (its create revision): identifies it across its events.
   *
   * @generated from field: int64 fencing_token = 4;
   */
  fencingToken: bigint;

  /**
   * The contender's metadata (after the change, for METADATA_CHANGED).
   *
   * @generated from field: map<string, string> metadata = 5;
   */
  metadata: { [key: string]: string };

  /**
   * GRANTED: when it was granted. QUEUED: when it queued. Others: when this replica saw the
   * change (the store keeps no time of a deletion).
   *
   * @generated from field: google.protobuf.Timestamp time = 6;
   */
  time?: Timestamp | undefined;

  /**
   * Pass as WatchRequest.cursor to resume after this event. Opaque.
   *
   * @generated from field: string cursor = 7;
   */
  cursor: string;

  /**
   * The store revision of the change (of the snapshot, for snapshot events).
   *
   * @generated from field: int64 revision = 8;
   */
  revision: bigint;

  /**
   * Part of a snapshot, not a change.
   *
   * @generated from field: bool snapshot = 9;
   */
  snapshot: boolean;

  /**
   * The contender's TTL in seconds (0 when it lives under a session).
   *
   * @generated from field: int64 ttl_seconds = 10;
   */
  ttlSeconds: bigint;

  /**
   * When it queued, and when it was granted (unset while waiting).
   *
   * @generated from field: google.protobuf.Timestamp queued_at = 11;
   */
  queuedAt?: Timestamp | undefined;

  /**
   * @generated from field: google.protobuf.Timestamp acquired_at = 12;
   */
  acquiredAt?: Timestamp | undefined;
};

/**
 * Describes the message threadlock.v1.WatchEvent.
 * Use `create(WatchEventSchema)` to create a new message.
 */
export const WatchEventSchema: GenMessage<WatchEvent> = /*@__PURE__*/
  messageDesc(file_threadlock_v1_lock, 25);

/**
 * @generated from enum threadlock.v1.WatchEvent.Kind
 */
export enum WatchEvent_Kind {
  /**
   * @generated from enum value: KIND_UNSPECIFIED = 0;
   */
  UNSPECIFIED = 0,

  /**
   * A contender holds the key now: granted at once, or first in the queue and claimed.
   * Snapshot: a current holder.
   *
   * @generated from enum value: KIND_GRANTED = 1;
   */
  GRANTED = 1,

  /**
   * The holder gave the key back with Release (or an admin's ForceRelease).
   *
   * @generated from enum value: KIND_RELEASED = 2;
   */
  RELEASED = 2,

  /**
   * The holder's lease ended without a Release: its TTL lapsed, its session was closed or
   * lapsed, or its Acquire was abandoned right after the grant. On etcd a Release deletes
   * the lock and writes a release marker (a tombstone) in one transaction; a deletion with
   * no marker in the same revision is an expiry, so every replica tells them apart alike.
   *
   * @generated from enum value: KIND_EXPIRED = 3;
   */
  EXPIRED = 3,

  /**
   * A contender joined the key's queue. Snapshot: a current waiter. A session's queued
   * Acquire shows as QUEUED until it is moved onto its session's lease (then GRANTED), even
   * when it was first in line.
   *
   * @generated from enum value: KIND_QUEUED = 4;
   */
  QUEUED = 4,

  /**
   * A waiter left the queue without being granted: cancelled, timed out, disconnected, or
   * its lease lapsed.
   *
   * @generated from enum value: KIND_LEFT_QUEUE = 5;
   */
  LEFT_QUEUE = 5,

  /**
   * The holder's metadata changed (KeepAlive with metadata): `metadata` is the new value.
   *
   * @generated from enum value: KIND_METADATA_CHANGED = 6;
   */
  METADATA_CHANGED = 6,

  /**
   * The snapshot is complete; changes follow. Carries no key.
   *
   * @generated from enum value: KIND_SNAPSHOT_END = 7;
   */
  SNAPSHOT_END = 7,

  /**
   * The request's cursor cannot be resumed (see Watch): a fresh snapshot follows. Carries
   * no key.
   *
   * @generated from enum value: KIND_CURSOR_TOO_OLD = 8;
   */
  CURSOR_TOO_OLD = 8,
}

/**
 * Describes the enum threadlock.v1.WatchEvent.Kind.
 */
export const WatchEvent_KindSchema: GenEnum<WatchEvent_Kind> = /*@__PURE__*/
  enumDesc(file_threadlock_v1_lock, 25, 0);

/**
 * LockService grants per-key locks backed by leases with TTLs. Any replica serves any call:
 * replicas keep no lock state.
 *
 * @generated from service threadlock.v1.LockService
 */
export const LockService: GenService<{
  /**
   * Acquire takes `key` for `owner`, or reports who holds it.
   *
   * wait = 0: one try. Granted if nobody holds the key and nobody waits for it (a newcomer
   *   never jumps the queue); otherwise `busy`.
   * wait > 0: join the key's FIFO queue and wait up to `wait`; granted when every earlier
   *   arrival has released or expired, else `busy` when `wait` elapses. A queued call that is
   *   cancelled, disconnected or past its deadline leaves the queue at once.
   *
   * While the call waits, the coordinator keeps the queued lease alive; once granted, the
   * caller renews it with KeepAlive (or renews its session).
   *
   * Retries: set request_id (e.g. a UUID per logical acquire). A retry with the same
   * request_id returns the same lease (same lease_token and fencing_token), or resumes waiting
   * in the same queue slot; it never creates a second grant or a second slot. This holds while
   * the lease lives and for at least 60 s after its Release (a later retry is refused with
   * FAILED_PRECONDITION); after a lease *expired*, the same request_id acquires anew. A
   * try-once retry (wait = 0) of a queued request only reports; it leaves the slot in place.
   * The slot is kept only while some attempt of the request is still waiting: an attempt that
   * ends without a grant (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED) gives it up, so that a
   * caller who does not come back never blocks the queue; a retry after that (or during that
   * give-up) queues anew.
   * A retry takes the request over: an older attempt of it still in flight answers ABORTED.
   *
   * @generated from rpc threadlock.v1.LockService.Acquire
   */
  acquire: {
    methodKind: "unary";
    input: typeof AcquireRequestSchema;
    output: typeof AcquireResponseSchema;
  },
  /**
   * KeepAlive renews a lease or a session and returns its new expiry. Unary on purpose: it
   * passes any HTTP/2 load balancer, may hit any replica, is trivially retried, and is easy to
   * call from languages with weak streaming support (PHP). Renew every ttl/3. NOT_FOUND means
   * the lease or session is gone: stop the protected work.
   *
   * @generated from rpc threadlock.v1.LockService.KeepAlive
   */
  keepAlive: {
    methodKind: "unary";
    input: typeof KeepAliveRequestSchema;
    output: typeof KeepAliveResponseSchema;
  },
  /**
   * Release gives the key back, or leaves the queue if the lease was still waiting. Only the
   * lease token releases; a token that does not hold the key is refused with NOT_FOUND and
   * changes nothing (this includes a lease that expired: its holder lost the lock and must
   * know). Idempotent: a repeated Release of the same token answers OK with released = false
   * for at least 60 s.
   *
   * @generated from rpc threadlock.v1.LockService.Release
   */
  release: {
    methodKind: "unary";
    input: typeof ReleaseRequestSchema;
    output: typeof ReleaseResponseSchema;
  },
  /**
   * OpenSession grants one lease for a client process. Locks acquired with its session_id
   * live as long as the session; one KeepAlive of the session renews all of them, so renewal
   * traffic grows with processes, not with locks. While such an Acquire queues, its slot
   * lives on a short lease the serving coordinator renews, so a coordinator that dies leaves
   * no slot behind; once granted, the lock lives on the session's lease.
   *
   * @generated from rpc threadlock.v1.LockService.OpenSession
   */
  openSession: {
    methodKind: "unary";
    input: typeof OpenSessionRequestSchema;
    output: typeof OpenSessionResponseSchema;
  },
  /**
   * CloseSession ends a session and frees every lock it holds at once; its queued Acquires
   * end with NOT_FOUND within a few seconds (their slots live on leases of their own).
   * Idempotent.
   *
   * @generated from rpc threadlock.v1.LockService.CloseSession
   */
  closeSession: {
    methodKind: "unary";
    input: typeof CloseSessionRequestSchema;
    output: typeof CloseSessionResponseSchema;
  },
  /**
   * Status lists holders and waiters of one key, of keys with a prefix, or of all keys.
   *
   * @generated from rpc threadlock.v1.LockService.Status
   */
  status: {
    methodKind: "unary";
    input: typeof StatusRequestSchema;
    output: typeof StatusResponseSchema;
  },
  /**
   * Stream carries calls of the methods above as messages on one long-lived bidirectional
   * stream, for clients that make many calls: a message costs the server about a third of a
   * unary call. Each StreamRequest is one call (or cancels one), answered by exactly one
   * StreamResponse with the same call_id. A call on the stream means exactly what the same
   * unary call means: same validation, outcomes, status codes, retries by request_id, quotas
   * and metrics. Unary stays the simple path (grpcurl, raw callers, other languages).
   *
   * Ordering: frames are read in the order sent and each call starts when its frame is read,
   *   but calls run concurrently and answer when done, in any order: match them by call_id.
   *   As with concurrent unary calls, two Acquires in flight at once have no queue order
   *   between them; send the second after the first answered if order matters.
   * Deadlines: per call, `StreamRequest.timeout` (unset: none, like a unary call without a
   *   deadline). It bounds the call as a gRPC deadline does (a queued Acquire answers `busy`
   *   just before it); past it the call answers DEADLINE_EXCEEDED. The stream itself has no
   *   deadline; set none on it.
   * Cancellation: a frame with `cancel` set cancels the call with that call_id, as a cancelled
   *   unary call: a queued Acquire leaves the queue at once. The call then answers CANCELLED
   *   (or its result, if it finished first). A cancel for a call_id not in flight is ignored.
   * A broken stream (disconnect, server shutdown, the client ending it): every call still in
   *   flight is cancelled as above. Its answer is lost like a lost unary response: a grant may
   *   have happened (Acquire: retry with the same request_id, on a new stream or unary, to get
   *   the same lease back; a queued slot is gone); KeepAlive and Release are safe to repeat.
   *   A server that is shutting down answers new calls UNAVAILABLE and lets calls in flight
   *   finish within its grace period; clients move to another stream (or replica).
   * Flow control: HTTP/2's, for the stream as a whole. At most the server's per-stream limit
   *   of calls (max_stream_calls, default 1000) are in flight at once; a call beyond it is
   *   answered RESOURCE_EXHAUSTED naming "max_stream_calls", with nothing done, and the stream
   *   stays open. A call_id already in flight, 0, or a frame with no call answers
   *   INVALID_ARGUMENT naming the field. A frame that is not a StreamRequest at all ends the
   *   stream with INVALID_ARGUMENT (there is no call_id to answer).
   * Authentication: the stream's own metadata carries the credential (`authorization`, or the
   *   TLS client certificate), checked when the stream opens (a bad one ends the stream with
   *   UNAUTHENTICATED) and again for each call, so that an expired JWT or a revoked key stops
   *   working on open streams too. The tenant is fixed when the stream opens; a credential
   *   that later maps to another tenant is refused (PERMISSION_DENIED). The caller's role is
   *   checked per call: a viewer's Acquire answers PERMISSION_DENIED, its Status succeeds.
   *   Credentials in `headers` are ignored.
   *
   * @generated from rpc threadlock.v1.LockService.Stream
   */
  stream: {
    methodKind: "bidi_streaming";
    input: typeof StreamRequestSchema;
    output: typeof StreamResponseSchema;
  },
  /**
   * ForceRelease (role admin, auth on only) frees a key that a tenant's holder does not
   * release, e.g. a stuck worker with a long TTL. Its holder's next KeepAlive answers NOT_FOUND
   * and the next waiter is granted. Every call is written to the audit log with `reason`.
   * NOT_FOUND if nobody holds the key. Without auth it answers PERMISSION_DENIED.
   *
   * @generated from rpc threadlock.v1.LockService.ForceRelease
   */
  forceRelease: {
    methodKind: "unary";
    input: typeof ForceReleaseRequestSchema;
    output: typeof ForceReleaseResponseSchema;
  },
  /**
   * Watch streams the lock events of one key or of keys with a prefix: a snapshot of their
   * current holders and waiters, then every change as it happens. Roles: locker, viewer and
   * admin of a tenant (keys without the tenant prefix); admin across tenants as Status.
   *
   * Stream: [CURSOR_TOO_OLD] snapshot events (snapshot = true: GRANTED for holders, QUEUED
   * for waiters, keys ascending, each key in queue order) SNAPSHOT_END, then changes. With a
   * resumable `cursor` there is no snapshot: the changes after it follow directly.
   *
   * Ordering: events carry the store's history position (`revision`: the etcd revision, or
   * the embedded store's revision). Events arrive in revision order; those of one revision
   * (e.g. every lock of a session whose lease lapsed) in one fixed order. So the events of one
   * key arrive in the order they happened, and every replica sends the same events with the
   * same cursors: an event written through replica A is seen by a watcher on replica B.
   *
   * Cursors: every event has one; Watch(cursor = the last one received) resumes right after
   * that event, on any replica, with no gap and no duplicate. A cursor the store no longer
   * has history for (etcd compacted it; beyond the embedded store's 100,000 recent changes;
   * another etcd cluster; an embedded store since restarted) answers CURSOR_TOO_OLD and a
   * fresh snapshot instead: drop what you knew and rebuild from it.
   *
   * Limits: at most --max-watchers (default 1000) watchers per replica, beyond that
   * RESOURCE_EXHAUSTED "max_watchers: ..."; a watcher that falls --watch-buffer (default
   * 10,000) events behind is ended with RESOURCE_EXHAUSTED "watch_buffer: ..." instead of
   * growing the coordinator's memory: resume with its last cursor. While etcd is unreachable
   * no events arrive (the stream stays open) and they follow, in order, once it returns; a
   * Watch opened while this replica has never read etcd answers UNAVAILABLE within 5 s.
   * A malformed cursor is INVALID_ARGUMENT naming `cursor`.
   *
   * Each WatchResponse carries one or more events (a snapshot in chunks; changes as many as
   * were ready when the message was sent): batching keeps the cost per event low when many
   * watchers follow busy keys. Treat the stream as one sequence of events.
   *
   * @generated from rpc threadlock.v1.LockService.Watch
   */
  watch: {
    methodKind: "server_streaming";
    input: typeof WatchRequestSchema;
    output: typeof WatchResponseSchema;
  },
}> = /*@__PURE__*/
  serviceDesc(file_threadlock_v1_lock, 0);

