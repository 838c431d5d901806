// Command go_baseline is a performance baseline for tcpgate's pool mode: a
// multiplexed line-JSON TCP client written the plain Go way, for comparing
// against tcpgate-loadgen's pool mode on the same backend and workload.
//
// The client follows the usual Go article shape: a Conn made by a net.Dialer
// with Timeout and KeepAlive; one receive goroutine per connection reading
// one JSON object per line with a bufio.Scanner; a sync.Map from Uid to a
// buffered result channel; Send registers its channel, writes the request
// with one Write under a mutex and waits on the channel or time.After. A pool
// of -pool such connections is shared by all callers, picked round-robin.
//
// Workload: -callers goroutines, each in a closed loop (one request at a time,
// unique Uid each, 10 s timeout). Requests that start after -warmup and finish
// before the end of -duration are measured. It prints exactly one line:
//
//	target=.. mode=go-baseline callers=.. pool=.. duration=..s answered=..
//	errors=.. msgs_per_s=.. p50_us=.. p90_us=.. p99_us=.. p99.9_us=.. max_us=..
//
// and exits 0 when errors == 0 and answered > 0, else 1.
//
//	tests/bench/go_baseline/run.sh -target 127.0.0.1:3000 -callers 64 -pool 1 -duration 10s
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one request line: {"Uid":..,"Val":..}.
type Request struct {
	Uid string
	Val string
}

// Response is one response line: {"Uid":..,"Val":..,"Ts":..}.
type Response struct {
	Uid string
	Val string
	Ts  string
}

const (
	dialTimeout    = 5 * time.Second
	keepAlive      = 30 * time.Second
	requestTimeout = 10 * time.Second
	maxLineBytes   = 1 << 20
	greeting       = "server: hello, "
)

var errTimeout = errors.New("request timed out")

// Conn is one multiplexed client connection: many goroutines may Send on it
// at once; responses are matched to requests by Uid.
type Conn struct {
	conn    net.Conn
	writeMu sync.Mutex // One writer at a time, so request lines never interleave.
	pending sync.Map   // Uid -> chan Response (buffered 1).

	closed chan struct{} // Closed when the receive goroutine stops.
	err    error         // Why it stopped; written before closed is closed.
}

// Dial connects to addr and starts the connection's receive goroutine.
func Dial(addr string) (*Conn, error) {
	dialer := net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive}
	nc, err := dialer.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &Conn{conn: nc, closed: make(chan struct{})}
	go c.receive()
	return c, nil
}

// receive reads response lines until the connection fails and hands each one
// to the Send waiting for its Uid. Answers nobody waits for (their Send timed
// out) are dropped.
func (c *Conn) receive() {
	scanner := bufio.NewScanner(c.conn)
	scanner.Buffer(make([]byte, 64*1024), maxLineBytes)
	var err error
	for scanner.Scan() {
		var resp Response
		if err = json.Unmarshal(scanner.Bytes(), &resp); err != nil {
			err = fmt.Errorf("bad response line: %w", err)
			break
		}
		if ch, ok := c.pending.LoadAndDelete(resp.Uid); ok {
			ch.(chan Response) <- resp // Buffered 1: never blocks.
		}
	}
	if err == nil {
		err = scanner.Err()
	}
	if err == nil {
		err = io.EOF
	}
	c.err = err
	close(c.closed)
	c.conn.Close()
}

// Send writes req and waits up to timeout for the response with its Uid.
func (c *Conn) Send(req Request, timeout time.Duration) (Response, error) {
	line, err := json.Marshal(req)
	if err != nil {
		return Response{}, err
	}
	line = append(line, '\n')

	// Register before writing, so even an instant answer finds its channel.
	ch := make(chan Response, 1)
	if _, dup := c.pending.LoadOrStore(req.Uid, ch); dup {
		return Response{}, fmt.Errorf("uid %q already in flight", req.Uid)
	}

	c.writeMu.Lock()
	_, err = c.conn.Write(line)
	c.writeMu.Unlock()
	if err != nil {
		c.pending.Delete(req.Uid)
		return Response{}, err
	}

	select {
	case resp := <-ch:
		return resp, nil
	case <-c.closed:
		c.pending.Delete(req.Uid)
		return Response{}, fmt.Errorf("connection lost: %w", c.err)
	case <-time.After(timeout):
		c.pending.Delete(req.Uid)
		return Response{}, errTimeout
	}
}

// Close closes the connection; the receive goroutine then stops.
func (c *Conn) Close() error { return c.conn.Close() }

// Pool is a fixed set of shared connections, handed out round-robin.
type Pool struct {
	conns []*Conn
	next  atomic.Uint64
}

// NewPool dials size connections to addr.
func NewPool(addr string, size int) (*Pool, error) {
	p := &Pool{}
	for i := 0; i < size; i++ {
		c, err := Dial(addr)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.conns = append(p.conns, c)
	}
	return p, nil
}

// Pick returns the next connection in round-robin order.
func (p *Pool) Pick() *Conn {
	n := p.next.Add(1) - 1
	return p.conns[n%uint64(len(p.conns))]
}

// Close closes every connection.
func (p *Pool) Close() {
	for _, c := range p.conns {
		c.Close()
	}
}

// callerResult is what one caller goroutine measured.
type callerResult struct {
	answered  int
	failures  int   // Send returned an error.
	mismatch  int   // Answer with the wrong Uid or Val.
	firstErr  error // First Send error, for the diagnostic on stderr.
	latencies []int64
}

// runCaller sends one request at a time until end, measuring the requests
// that start at or after measureFrom and finish by end.
func runCaller(pool *Pool, caller int, val string, measureFrom, end time.Time) callerResult {
	var r callerResult
	prefix := "g" + strconv.Itoa(caller) + "-"
	want := greeting + val
	for seq := 0; ; seq++ {
		start := time.Now()
		if !start.Before(end) {
			return r
		}
		uid := prefix + strconv.Itoa(seq)
		resp, err := pool.Pick().Send(Request{Uid: uid, Val: val}, requestTimeout)
		done := time.Now()
		switch {
		case err != nil:
			r.failures++
			if r.firstErr == nil {
				r.firstErr = err
			}
			continue
		case resp.Uid != uid || resp.Val != want:
			r.mismatch++
			continue
		}
		if !start.Before(measureFrom) && !done.After(end) {
			r.answered++
			r.latencies = append(r.latencies, done.Sub(start).Nanoseconds())
		}
	}
}

// percentile returns the smallest latency at or below which p percent of the
// sorted samples fall (nearest rank), 0 when there are none.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

func micros(nanos int64) string { return strconv.FormatFloat(float64(nanos)/1000, 'f', 1, 64) }

func main() {
	target := flag.String("target", "127.0.0.1:3000", "host:port of the backend")
	callers := flag.Int("callers", 64, "caller goroutines, each with one request in flight")
	poolSize := flag.Int("pool", 1, "connections shared by all callers")
	duration := flag.Duration("duration", 10*time.Second, "measured time")
	warmup := flag.Duration("warmup", 1*time.Second, "unmeasured time before it")
	val := flag.String("val", "pixelpig!", "Val of every request")
	flag.Parse()
	if *callers < 1 || *poolSize < 1 || *duration <= 0 || *warmup < 0 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go_baseline [-target host:port] [-callers N>=1] [-pool N>=1] [-duration D>0] [-warmup D>=0] [-val S]")
		os.Exit(2)
	}

	pool, err := NewPool(*target, *poolSize)
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not open %d connections to %s: %v\n", *poolSize, *target, err)
		os.Exit(1)
	}
	defer pool.Close()

	measureFrom := time.Now().Add(*warmup)
	end := measureFrom.Add(*duration)
	results := make([]callerResult, *callers)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = runCaller(pool, i, *val, measureFrom, end)
		}(i)
	}
	wg.Wait()

	var answered, failures, mismatches int
	var firstErr error
	var latencies []int64
	for _, r := range results {
		answered += r.answered
		failures += r.failures
		mismatches += r.mismatch
		if firstErr == nil {
			firstErr = r.firstErr
		}
		latencies = append(latencies, r.latencies...)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	var maxNanos int64
	if len(latencies) > 0 {
		maxNanos = latencies[len(latencies)-1]
	}
	errorCount := failures + mismatches
	seconds := duration.Seconds()

	fmt.Printf("target=%s mode=go-baseline callers=%d pool=%d duration=%.1fs answered=%d errors=%d msgs_per_s=%.0f "+
		"p50_us=%s p90_us=%s p99_us=%s p99.9_us=%s max_us=%s\n",
		*target, *callers, *poolSize, seconds, answered, errorCount, float64(answered)/seconds,
		micros(percentile(latencies, 50)), micros(percentile(latencies, 90)), micros(percentile(latencies, 99)),
		micros(percentile(latencies, 99.9)), micros(maxNanos))

	if errorCount > 0 {
		fmt.Fprintf(os.Stderr, "errors: %d failed sends (first: %v), %d wrong answers\n", failures, firstErr, mismatches)
	}
	if errorCount > 0 || answered == 0 {
		os.Exit(1)
	}
}
