package threadlock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/threadlock/threadlock/clients/go/gen/threadlock/v1"
)

// The stream transport (the default, as in the Python SDK's _stream.py): every call of a
// client to one address is a frame with a call_id on one long-lived LockService.Stream,
// because a frame costs the coordinator about a third of a unary call. Each frame carries its
// call's own timeout (from the ctx deadline caller.call sets). A caller that gives up sends a
// cancel frame, so a queued Acquire leaves the queue at once, as with a cancelled unary call.
// A broken stream fails its calls in flight UNAVAILABLE ("no answer": the flows retry with
// the same request_id) and the next call opens a new stream. A stream that answered "server
// is shutting down", or whose credential file changed, takes no new calls. A coordinator
// without Stream (UNIMPLEMENTED) is called unary from then on.

// maxStreamCalls: calls in flight per stream, the coordinator's default max_stream_calls;
// beyond it a call opens another stream rather than being refused RESOURCE_EXHAUSTED.
const maxStreamCalls = 1000

// fieldOf: the StreamRequest/StreamResponse field of each method.
var fieldOf = map[string]protoreflect.Name{"Acquire": "acquire", "KeepAlive": "keep_alive",
	"Release": "release", "OpenSession": "open_session", "CloseSession": "close_session",
	"Status": "status", "ForceRelease": "force_release"}

type streamTransport struct {
	unary   *grpcTransport // the connections; and the calls of a coordinator without Stream
	auth    *bearer        // nil without credentials
	clients []pb.LockServiceClient
	root    context.Context // every stream's; Close cancels it
	stop    context.CancelFunc
	running sync.WaitGroup // each stream's goroutines

	mu       sync.Mutex
	streams  [][]*callStream // per target: the streams that may take new calls
	viaUnary []bool          // per target: the coordinator answered UNIMPLEMENTED for Stream
	closed   bool
}

func newStreamTransport(unary *grpcTransport, auth *bearer) *streamTransport {
	t := &streamTransport{unary: unary, auth: auth, streams: make([][]*callStream, unary.targets()),
		viaUnary: make([]bool, unary.targets())}
	for _, conn := range unary.conns {
		t.clients = append(t.clients, pb.NewLockServiceClient(conn))
	}
	t.root, t.stop = context.WithCancel(context.Background())
	return t
}

func (t *streamTransport) targets() int { return t.unary.targets() }

func (t *streamTransport) invoke(ctx context.Context, target int, method string,
	req, resp proto.Message) error {
	s, id, answer := t.begin(target)
	if s == nil {
		return t.unary.invoke(ctx, target, method, req, resp)
	}
	err := s.call(ctx, id, answer, method, req, resp)
	var ended *streamEnded
	switch {
	case errors.As(err, &ended) && ended.st.Code() == codes.Unimplemented:
		t.mu.Lock()
		t.viaUnary[target] = true // an older coordinator: unary from now on
		t.mu.Unlock()
		return t.unary.invoke(ctx, target, method, req, resp)
	case shuttingDown(err):
		s.retire() // the retry (caller.call) takes a new stream, on this address or the next
	}
	return err
}

// begin registers a call on a stream of target with room for it, opened if need be; nil when
// the call goes unary (no Stream there, or the transport is closed: unary then says so).
func (t *streamTransport) begin(target int) (*callStream, uint64, chan *pb.StreamResponse) {
	header := ""
	if t.auth != nil {
		// Credentials travel once, when a stream opens: a rotated token file needs a new one.
		header, _ = t.auth.current()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.viaUnary[target] {
		return nil, 0, nil
	}
	var live []*callStream
	var found *callStream
	var id uint64
	var answer chan *pb.StreamResponse
	for _, s := range t.streams[target] {
		if s.header != header {
			s.retire()
		} else if found == nil {
			if id, answer = s.register(); answer != nil {
				found = s
			}
		}
		if s.takesCalls() { // broken or retired ones leave the list (their calls end alone)
			live = append(live, s)
		}
	}
	if found == nil {
		found = t.open(target, header)
		id, answer = found.register()
		live = append(live, found)
	}
	t.streams[target] = live
	return found, id, answer
}

func (t *streamTransport) open(target int, header string) *callStream {
	ctx, cancel := context.WithCancel(t.root)
	s := &callStream{header: header, cancel: cancel, dead: make(chan struct{}),
		// Room for every call's frame and its cancel: a full queue means the coordinator
		// stopped reading, and the stream is dropped (see enqueue) rather than blocking callers.
		out:     make(chan *pb.StreamRequest, 2*maxStreamCalls+1),
		pending: map[uint64]chan *pb.StreamResponse{}}
	t.running.Add(1)
	go func() {
		defer t.running.Done()
		s.run(ctx, t.clients[target])
	}()
	return s
}

func (t *streamTransport) close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.stop() // every stream ends; its calls in flight fail UNAVAILABLE
	t.running.Wait()
	return t.unary.close()
}

// callStream is one LockService.Stream: a goroutine that opens it and reads the answers,
// dispatching them by call_id, and one that sends the frames (grpc-go allows one SendMsg at a
// time per stream; a queue also keeps callers from blocking on HTTP/2 flow control).
type callStream struct {
	header string // the credential it was opened with
	cancel context.CancelFunc
	out    chan *pb.StreamRequest // frames to send; nil: end of frames (retired)
	dead   chan struct{}          // closed when the stream ended; err then says why

	mu      sync.Mutex
	pending map[uint64]chan *pb.StreamResponse // by call_id, until answered or given up
	lastID  uint64
	retired bool // takes no new calls
	err     error
}

// register: a call_id and the channel of its answer; nil when the stream takes no new calls
// or has maxStreamCalls in flight.
func (s *callStream) register() (uint64, chan *pb.StreamResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired || s.err != nil || len(s.pending) >= maxStreamCalls {
		return 0, nil
	}
	s.lastID++
	answer := make(chan *pb.StreamResponse, 1) // the reader never waits for the caller
	s.pending[s.lastID] = answer
	return s.lastID, answer
}

func (s *callStream) takesCalls() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.retired && s.err == nil
}

func (s *callStream) call(ctx context.Context, id uint64, answer chan *pb.StreamResponse,
	method string, req, resp proto.Message) error {
	f := &pb.StreamRequest{CallId: id}
	if deadline, ok := ctx.Deadline(); ok {
		f.Timeout = durationpb.New(max(time.Until(deadline), 0))
	}
	m := f.ProtoReflect()
	field := m.Descriptor().Fields().ByName(fieldOf[method])
	// A copy: the sender marshals it later, and caller.call changes an Acquire's Wait per try.
	m.Set(field, protoreflect.ValueOfMessage(proto.Clone(req).ProtoReflect()))
	s.enqueue(f)
	select {
	case got := <-answer:
		return result(got, resp)
	case <-ctx.Done():
		if s.forget(id) {
			s.enqueue(&pb.StreamRequest{CallId: id, Call: &pb.StreamRequest_Cancel{
				Cancel: &pb.StreamCancel{}}}) // a queued Acquire leaves the queue now
		} else {
			select { // answered meanwhile (the reader sends under s.mu): keep a grant
			case got := <-answer:
				return result(got, resp)
			default:
			}
		}
		return status.FromContextError(ctx.Err()).Err()
	case <-s.dead:
		select {
		case got := <-answer:
			return result(got, resp)
		default:
			return s.err
		}
	}
}

// forget: the caller gave up on id; true if it was still unanswered on a live stream (then a
// cancel frame tells the coordinator).
func (s *callStream) forget(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.pending[id] // gone once answered, or once the stream ended
	delete(s.pending, id)
	return ok
}

// enqueue hands f to the sender without ever blocking; a stream so backed up that its queue
// is full is ended, which fails its calls UNAVAILABLE.
func (s *callStream) enqueue(f *pb.StreamRequest) {
	select {
	case s.out <- f:
	default:
		s.cancel()
	}
}

// retire: no new calls; the coordinator answers those in flight, then ends the stream.
func (s *callStream) retire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.retired && s.err == nil {
		s.retired = true
		s.enqueue(nil)
	}
}

func (s *callStream) run(ctx context.Context, client pb.LockServiceClient) {
	defer s.cancel()
	// ctx has no deadline: the stream has none, each frame carries its own.
	stream, err := client.Stream(ctx)
	if err != nil {
		s.end(err)
		return
	}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		s.send(ctx, stream)
	}()
	for {
		got, err := stream.Recv()
		if err != nil {
			s.end(err)
			break
		}
		s.mu.Lock()
		if answer := s.pending[got.GetCallId()]; answer != nil { // nil: a call given up on
			delete(s.pending, got.GetCallId())
			answer <- got // buffered: never blocks, and is there once forget finds it gone
		}
		s.mu.Unlock()
	}
	s.cancel() // unblocks a Send waiting on flow control
	<-sent
}

func (s *callStream) send(ctx context.Context, stream pb.LockService_StreamClient) {
	for {
		select {
		case f := <-s.out:
			if f == nil {
				_ = stream.CloseSend()
				return
			}
			if stream.Send(f) != nil {
				return // the stream ended; Recv says why
			}
		case <-ctx.Done():
			return
		}
	}
}

// end: the stream is over; calls still in flight get err, as broke() words it.
func (s *callStream) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = broke(err)
	s.pending = map[uint64]chan *pb.StreamResponse{}
	close(s.dead)
}

// streamEnded: a call got no answer because its stream ended.
type streamEnded struct{ st *status.Status }

func (e *streamEnded) Error() string              { return e.st.Err().Error() }
func (e *streamEnded) GRPCStatus() *status.Status { return e.st }

// broke: why a stream's calls got no answer. A credential refused when it opened, or a
// coordinator without Stream, is every call's answer; anything else is UNAVAILABLE, which the
// policy retries (with the same request_id) on a new stream or the next address.
func broke(err error) error {
	st := status.Convert(err)
	if errors.Is(err, io.EOF) {
		st = status.New(codes.Unavailable, "the coordinator ended it")
	}
	switch st.Code() {
	case codes.Unauthenticated, codes.PermissionDenied, codes.Unimplemented:
		return &streamEnded{st}
	}
	return &streamEnded{status.New(codes.Unavailable, fmt.Sprintf(
		"the stream to the coordinator ended (%s); no answer", st.Message()))}
}

// result: the answer's response copied into resp, or its error as a gRPC status.
func result(got *pb.StreamResponse, resp proto.Message) error {
	if e, ok := got.GetResult().(*pb.StreamResponse_Error); ok {
		return status.Error(codes.Code(e.Error.GetCode()), e.Error.GetMessage())
	}
	m := got.ProtoReflect()
	field := m.WhichOneof(m.Descriptor().Oneofs().ByName("result"))
	if field == nil || field.Message().FullName() != resp.ProtoReflect().Descriptor().FullName() {
		return status.Errorf(codes.Internal, "the coordinator answered call %d with %v",
			got.GetCallId(), field)
	}
	proto.Reset(resp)
	proto.Merge(resp, m.Get(field).Message().Interface())
	return nil
}

// shuttingDown: the coordinator of this stream stops (stream_face.py's answer to new calls).
func shuttingDown(err error) bool {
	st, ok := status.FromError(err)
	return ok && st.Code() == codes.Unavailable &&
		strings.HasPrefix(st.Message(), "server is shutting down")
}
