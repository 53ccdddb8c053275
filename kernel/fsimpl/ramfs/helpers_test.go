package ramfs

import (
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testClock is a settable clock that advances one second per Tick.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) tick() Timespec {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return TimespecOf(c.t)
}

func newTestFS(t *testing.T) (*FS, *testClock) {
	t.Helper()
	clk := &testClock{t: time.Unix(1_700_000_000, 123)}
	fs := NewRoot()
	fs.SetClock(clk.now)
	return fs, clk
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantErrno(t *testing.T, what string, err error, want unix.Errno) {
	t.Helper()
	var got unix.Errno
	if !errors.As(err, &got) || got != want {
		t.Errorf("%s: got error %v, want %v (%d)", what, err, want.Error(), int(want))
	}
}

func writeFile(t *testing.T, fs *FS, path, data string) {
	t.Helper()
	f, err := fs.Open(nil, path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
	ok(t, err)
	n, err := f.Write([]byte(data))
	ok(t, err)
	if n != len(data) {
		t.Fatalf("short write %d", n)
	}
}

func readFile(t *testing.T, fs *FS, path string) string {
	t.Helper()
	f, err := fs.Open(nil, path, unix.O_RDONLY, 0)
	ok(t, err)
	var out []byte
	buf := make([]byte, 1000)
	for {
		n, err := f.Read(buf)
		ok(t, err)
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func lstat(t *testing.T, fs *FS, path string) Stat {
	t.Helper()
	st, err := fs.Lstat(nil, path)
	ok(t, err)
	return st
}

// readAllDir reads a directory with getdents64 in chunks of bufSize bytes.
func readAllDir(t *testing.T, f *File, bufSize int) []Dirent {
	t.Helper()
	var all []Dirent
	buf := make([]byte, bufSize)
	for {
		n, err := f.ReadDir(buf)
		ok(t, err)
		if n == 0 {
			return all
		}
		ds, err := ParseDirents(buf[:n])
		ok(t, err)
		all = append(all, ds...)
	}
}
