from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Entry(_message.Message):
    __slots__ = ("owner", "metadata", "ttl_seconds", "queued_at_us", "acquired_at_us", "request_id", "session", "attempt")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    OWNER_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_AT_US_FIELD_NUMBER: _ClassVar[int]
    ACQUIRED_AT_US_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    owner: str
    metadata: _containers.ScalarMap[str, str]
    ttl_seconds: int
    queued_at_us: int
    acquired_at_us: int
    request_id: str
    session: int
    attempt: str
    def __init__(self, owner: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., ttl_seconds: _Optional[int] = ..., queued_at_us: _Optional[int] = ..., acquired_at_us: _Optional[int] = ..., request_id: _Optional[str] = ..., session: _Optional[int] = ..., attempt: _Optional[str] = ...) -> None: ...

class SessionRecord(_message.Message):
    __slots__ = ("owner", "ttl_seconds", "opened_at_us")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_US_FIELD_NUMBER: _ClassVar[int]
    owner: str
    ttl_seconds: int
    opened_at_us: int
    def __init__(self, owner: _Optional[str] = ..., ttl_seconds: _Optional[int] = ..., opened_at_us: _Optional[int] = ...) -> None: ...

class LeaseToken(_message.Message):
    __slots__ = ("key", "uid", "lease", "revision", "session")
    KEY_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    key: str
    uid: str
    lease: int
    revision: int
    session: bool
    def __init__(self, key: _Optional[str] = ..., uid: _Optional[str] = ..., lease: _Optional[int] = ..., revision: _Optional[int] = ..., session: _Optional[bool] = ...) -> None: ...

class SessionToken(_message.Message):
    __slots__ = ("lease", "nonce")
    LEASE_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    lease: int
    nonce: str
    def __init__(self, lease: _Optional[int] = ..., nonce: _Optional[str] = ...) -> None: ...
