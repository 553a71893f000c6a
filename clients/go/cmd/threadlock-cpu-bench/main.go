// Command threadlock-cpu-bench measures what a lock+unlock costs a coordinator's CPU with each
// Go SDK transport: N concurrent clients (one Client each, own key) loop Lock+Release for a
// bounded time, and the coordinator process's CPU time (utime+stime in /proc/<pid>/stat, so
// Linux only) is read before and after. A measuring tool, not a test: run it against a
// coordinator you started, e.g.
//
//	threadlock serve --listen 127.0.0.1:50700 & go run ./cmd/threadlock-cpu-bench \
//	    -address 127.0.0.1:50700 -pid $! -transport stream
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	threadlock "github.com/threadlock/threadlock/clients/go"
)

// clockTicks: USER_HZ, the unit of /proc/<pid>/stat's times; 100 on every Linux we run on.
const clockTicks = 100

func cpu(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

func main() {
	address := flag.String("address", "127.0.0.1:50051", "coordinator address")
	pid := flag.Int("pid", 0, "the coordinator's process id")
	clients := flag.Int("clients", 32, "concurrent clients")
	seconds := flag.Float64("seconds", 5, "how long to loop (bounded: at most 60)")
	transport := flag.String("transport", "stream", "stream or unary")
	flag.Parse()
	if *pid <= 0 || *seconds <= 0 || *seconds > 60 || *clients <= 0 {
		fmt.Fprintln(os.Stderr, "threadlock-cpu-bench: give -pid, 0 < -seconds <= 60, -clients > 0")
		os.Exit(2)
	}
	var all []*threadlock.Client
	for i := range *clients {
		c, err := threadlock.New(threadlock.Config{Addresses: []string{*address},
			Owner: fmt.Sprintf("bench-%d", i), Transport: threadlock.Transport(*transport)})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer c.Close()
		all = append(all, c)
	}
	cycle := func(ctx context.Context, c *threadlock.Client, key string) error {
		lease, err := c.Lock(ctx, key, threadlock.LockOptions{TTL: 30 * time.Second})
		if err != nil {
			return err
		}
		_, err = lease.Release(ctx)
		return err
	}
	prefix := fmt.Sprintf("bench-%d-", time.Now().UnixNano())
	for i, c := range all { // warm up: connections (and streams) open before measuring
		if err := cycle(context.Background(), c, prefix+strconv.Itoa(i)); err != nil {
			fmt.Fprintln(os.Stderr, "warm-up:", err)
			os.Exit(1)
		}
	}
	var ops, failed atomic.Int64
	before, err := cpu(*pid)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	start := time.Now()
	end := start.Add(time.Duration(*seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for i, c := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				if cycle(context.Background(), c, prefix+strconv.Itoa(i)) != nil {
					failed.Add(1)
				} else {
					ops.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	after, err := cpu(*pid)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	used := after - before
	n := max(ops.Load(), 1)
	fmt.Printf("transport=%s clients=%d lock+unlock=%d failed=%d in %.1fs (%.0f/s); "+
		"coordinator CPU %.2fs = %.3f ms per lock+unlock (%.0f%% of a core)\n",
		*transport, *clients, ops.Load(), failed.Load(), took.Seconds(),
		float64(ops.Load())/took.Seconds(), used.Seconds(),
		float64(used.Microseconds())/1000/float64(n), 100*used.Seconds()/took.Seconds())
}
