// Package selftest is the kernel's --selftest suite: it checks that the Go
// runtime works on the bare machine (goroutines, channels, select, sync,
// the GC, timers, wall-clock time, crypto/rand) and, in the kernel only,
// the device services of the machine layer (DeviceChecks). Each check
// compares against a known value. The runtime checks run on the host in
// `go test` too, so a check that fails in the VM but passes on Linux points
// at the machine layer.
package selftest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosv/gosv/kernel/machine"
)

// Check is one named test; it returns nil on success.
type Check struct {
	Name string
	Run  func() error
}

// Checks is the suite, in the order it runs.
var Checks = []Check{
	{"goroutines", goroutines},
	{"channels", channels},
	{"select", selectCheck},
	{"sync", syncCheck},
	{"threads", threads},
	{"gc", gc},
	{"sleep", sleep},
	{"timers", timers},
	{"walltime", walltime},
	{"crypto/rand", cryptoRand},
	{"sha256", sha},
}

// Run runs every check, printing "selftest: NAME ... ok" or "FAIL: why"
// and the notes the check left, then a summary line; it returns the number
// of failures. In the kernel the DeviceChecks run after Checks.
func Run(w io.Writer) int {
	failed := 0
	start := time.Now()
	checks := Checks
	if machine.OnMachine() {
		checks = append(append([]Check(nil), Checks...), DeviceChecks...)
	}
	for _, c := range checks {
		t0 := time.Now()
		err := c.Run()
		d := time.Since(t0).Round(time.Microsecond)
		if err != nil {
			failed++
			fmt.Fprintf(w, "selftest: %-12s FAIL (%v): %v\n", c.Name, d, err)
		} else {
			fmt.Fprintf(w, "selftest: %-12s ok (%v)\n", c.Name, d)
		}
		notesMu.Lock()
		for _, n := range notes {
			fmt.Fprintf(w, "selftest:   %s: %s\n", c.Name, n)
		}
		notes = nil
		notesMu.Unlock()
	}
	fmt.Fprintf(w, "selftest: %d of %d checks passed in %v\n", len(checks)-failed, len(checks), time.Since(start).Round(time.Millisecond))
	return failed
}

var (
	notesMu sync.Mutex
	notes   []string
)

// note records a line of detail (what was found) that Run prints after
// the check's result.
func note(format string, args ...any) {
	notesMu.Lock()
	notes = append(notes, fmt.Sprintf(format, args...))
	notesMu.Unlock()
}

// goroutines: 1000 goroutines each add their index; the total is n(n-1)/2.
func goroutines() error {
	const n = 1000
	var sum atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sum.Add(int64(i))
		}(i)
	}
	wg.Wait()
	if got, want := sum.Load(), int64(n*(n-1)/2); got != want {
		return fmt.Errorf("sum %d, want %d", got, want)
	}
	return nil
}

// channels: a 3-stage pipeline squares 1..100 and sums them: 338350.
func channels() error {
	src := make(chan int)
	sq := make(chan int, 4)
	go func() {
		for i := 1; i <= 100; i++ {
			src <- i
		}
		close(src)
	}()
	go func() {
		for v := range src {
			sq <- v * v
		}
		close(sq)
	}()
	total := 0
	for v := range sq {
		total += v
	}
	if total != 338350 {
		return fmt.Errorf("sum of squares %d, want 338350", total)
	}
	return nil
}

// selectCheck: select picks the ready channel, and a timeout fires.
func selectCheck() error {
	a, b := make(chan int), make(chan int)
	go func() { b <- 42 }()
	select {
	case <-a:
		return fmt.Errorf("received from the silent channel")
	case v := <-b:
		if v != 42 {
			return fmt.Errorf("got %d, want 42", v)
		}
	case <-time.After(5 * time.Second):
		return fmt.Errorf("timed out waiting for a ready channel")
	}
	select {
	case <-a:
		return fmt.Errorf("received from the silent channel")
	case <-time.After(20 * time.Millisecond):
	}
	return nil
}

// syncCheck: Mutex, Cond, Once and RWMutex under contention.
func syncCheck() error {
	var mu sync.Mutex
	counter := 0
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if counter != 8000 {
		return fmt.Errorf("mutex counter %d, want 8000", counter)
	}
	var once sync.Once
	calls := 0
	for i := 0; i < 5; i++ {
		once.Do(func() { calls++ })
	}
	if calls != 1 {
		return fmt.Errorf("once ran %d times", calls)
	}
	cond := sync.NewCond(&mu)
	ready := 0
	for g := 0; g < 4; g++ {
		go func() {
			mu.Lock()
			ready++
			cond.Broadcast()
			mu.Unlock()
		}()
	}
	mu.Lock()
	for ready < 4 {
		cond.Wait()
	}
	mu.Unlock()
	return nil
}

// threads: goroutines locked to OS threads force the runtime to start new
// kernel threads (clone) and block them in futex.
func threads() error {
	const n = 4
	ids := make(chan int, n)
	release := make(chan struct{})
	for i := 0; i < n; i++ {
		go func(i int) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ids <- i
			<-release
		}(i)
	}
	got := make([]int, 0, n)
	for i := 0; i < n; i++ {
		got = append(got, <-ids)
	}
	close(release)
	sort.Ints(got)
	for i, v := range got {
		if v != i {
			return fmt.Errorf("thread ids %v", got)
		}
	}
	return nil
}

// gc: allocate 64 MiB in 64 KiB blocks while keeping a checksummed window
// alive; at least 5 GC cycles must run and the live data must survive.
func gc() error {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	keep := make([][]byte, 16)
	for i := 0; i < 1024; i++ {
		b := make([]byte, 64<<10)
		for j := range b {
			b[j] = byte(i + j)
		}
		keep[i%len(keep)] = b
	}
	for k, b := range keep {
		i := 1024 - len(keep) + k
		if i%len(keep) != k {
			continue
		}
		for j := 0; j < len(b); j += 4099 {
			if b[j] != byte(i+j) {
				return fmt.Errorf("live block %d corrupted at %d", i, j)
			}
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if cycles := after.NumGC - before.NumGC; cycles < 5 {
		return fmt.Errorf("%d GC cycles, want at least 5", cycles)
	}
	return nil
}

// sleep: time.Sleep of 10, 25 and 50 ms lasts within 10 % of that. A
// sleep that overshoots is retried twice: on a busy host the vCPU itself may
// not run on time, which says nothing about the kernel's timers; a sleep
// that returns early fails at once.
func sleep() error {
	for _, d := range []time.Duration{10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond} {
		var got time.Duration
		for try := 0; try < 5; try++ {
			t0 := time.Now()
			time.Sleep(d)
			got = time.Since(t0)
			if got < d {
				return fmt.Errorf("Sleep(%v) returned after %v", d, got)
			}
			if got <= lateLimit(d) {
				break
			}
		}
		if got > lateLimit(d) {
			return fmt.Errorf("Sleep(%v) took %v (5 tries)", d, got)
		}
	}
	return nil
}

// lateLimit is how late a timer of d may fire and still pass: a wake-up
// must come, but how soon after d is a benchmark's business (make bench),
// not a check's: on a busy host, a virtual CPU of TCG can wait tens of
// milliseconds for a host core.
func lateLimit(d time.Duration) time.Duration { return 2*d + 100*time.Millisecond }

// timers: a Ticker ticks 5 times in 5 periods; AfterFunc fires once; a
// stopped timer does not fire.
func timers() error {
	var d time.Duration
	for try := 0; try < 5; try++ { // retried like sleep
		// t0 before the ticker starts: its fifth tick is due 50 ms after
		// NewTicker, which may be a little less than 50 ms after a t0
		// read later.
		t0 := time.Now()
		tk := time.NewTicker(10 * time.Millisecond)
		for i := 0; i < 5; i++ {
			<-tk.C
		}
		tk.Stop()
		if d = time.Since(t0); d < 50*time.Millisecond {
			return fmt.Errorf("5 ticks of 10ms came after %v", d)
		}
		if d <= lateLimit(50*time.Millisecond) {
			break
		}
	}
	if d > lateLimit(50*time.Millisecond) {
		return fmt.Errorf("5 ticks of 10ms took %v (5 tries)", d)
	}
	fired := make(chan struct{}, 2)
	time.AfterFunc(5*time.Millisecond, func() { fired <- struct{}{} })
	stopped := time.AfterFunc(5*time.Millisecond, func() { fired <- struct{}{} })
	if !stopped.Stop() {
		return fmt.Errorf("Stop of a pending timer returned false")
	}
	<-fired
	select {
	case <-fired:
		return fmt.Errorf("a stopped timer fired")
	case <-time.After(20 * time.Millisecond):
	}
	return nil
}

// walltime: the clock reads a plausible date (2024..2100), moves forward,
// and agrees with the monotonic clock over a sleep.
func walltime() error {
	now := time.Now()
	if y := now.Year(); y < 2024 || y > 2100 {
		return fmt.Errorf("wall clock says %v", now)
	}
	w0 := now.UnixNano()
	time.Sleep(20 * time.Millisecond)
	mono := time.Since(now)
	wall := time.Duration(time.Now().UnixNano() - w0)
	if diff := wall - mono; diff < -time.Millisecond || diff > time.Millisecond {
		return fmt.Errorf("wall clock advanced %v, monotonic %v", wall, mono)
	}
	return nil
}

// cryptoRand: two 32-byte reads are not all zero and differ.
func cryptoRand() error {
	a, b := make([]byte, 32), make([]byte, 32)
	if _, err := rand.Read(a); err != nil {
		return err
	}
	if _, err := rand.Read(b); err != nil {
		return err
	}
	if bytes.Equal(a, make([]byte, 32)) || bytes.Equal(a, b) {
		return fmt.Errorf("random bytes %x, %x", a, b)
	}
	return nil
}

// sha: SHA-256 of 1 MiB of a known pattern (exercises SSE/AVX code and
// preemption of a CPU-bound goroutine).
func sha() error {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	sum := sha256.Sum256(buf)
	const want = "1d7368ef6f59e0c704a978b815288f1e464037959645bbfd79348d330269480d"
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("sha256 %s, want %s", got, want)
	}
	return nil
}
