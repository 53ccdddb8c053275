package linux

import (
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// File is an open file description (open(2)): what an fd refers to.
// Methods return unix.Errno errors. Read returns 0, nil at end of file.
type File interface {
	Read(t *Task, p []byte) (int, error)
	Write(t *Task, p []byte) (int, error)
	Close() error
}

// Optional capabilities of a File.
type (
	Seeker interface {
		Seek(off int64, whence int) (int64, error)
	}
	PReader interface {
		Pread(p []byte, off int64) (int, error)
	}
	PWriter interface {
		Pwrite(p []byte, off int64) (int, error)
	}
	Stater  interface{ Stat() (unix.Stat_t, error) }
	Ioctler interface {
		Ioctl(t *Task, req, arg uintptr) (uintptr, error)
	}
	DirReader interface{ ReadDir(p []byte) (int, error) }
)

// Readiness: a File that can block implements gVisor's waiter.Waitable.
// Readiness(mask) returns the events (EventIn, EventOut, EventHUp,
// EventErr, ... which equal the POLL* and EPOLL* bits) that hold now;
// EventRegister puts a waiter.Entry on the file's waiter.Queue, which the
// file notifies with the events that changed. A File without Waitable, or
// one that embeds AlwaysReady, is always readable and writable, like a
// regular file (sys_event.go has the rest).

// AlwaysReady is the readiness of a file whose reads and writes never
// block: regular files, ramfs and /proc files. It reports
// defaultPollMask and never notifies. Like a Linux file without a poll
// method (DEFAULT_POLLMASK), such a file cannot be added to an epoll
// instance (EPERM).
type AlwaysReady struct{}

// Readiness reports readable and writable, within mask.
func (AlwaysReady) Readiness(mask waiter.EventMask) waiter.EventMask {
	return waiter.EventMask(defaultPollMask) & mask
}

// EventRegister does nothing: the readiness never changes.
func (AlwaysReady) EventRegister(*waiter.Entry) error { return nil }

// EventUnregister does nothing.
func (AlwaysReady) EventUnregister(*waiter.Entry) {}

// notPollable marks files that epoll_ctl refuses with EPERM.
func (AlwaysReady) notPollable() {}

// waitQueue is a waiter.Queue whose EventRegister has the signature of
// waiter.Waitable, for files to embed: they add Readiness and call Notify
// after each change of readiness.
type waitQueue struct{ waiter.Queue }

// EventRegister adds e to the queue.
func (q *waitQueue) EventRegister(e *waiter.Entry) error {
	q.Queue.EventRegister(e)
	return nil
}

// fdEntry is one slot of the fd table.
type fdEntry struct {
	file    File
	cloexec bool
	flags   *fileFlags // status flags shared by dup'ed fds (O_NONBLOCK, O_APPEND)
}

type fileFlags struct {
	mu    sync.Mutex
	flags int
	refs  int
}

// FDTable maps fds to open files (shared by all threads: CLONE_FILES).
type FDTable struct {
	mu    sync.Mutex
	fds   map[int]*fdEntry
	limit int
}

// NewFDTable returns an empty table with RLIMIT_NOFILE 1024.
func NewFDTable() *FDTable { return &FDTable{fds: map[int]*fdEntry{}, limit: 1024} }

// Install puts f at the lowest free fd >= min; EMFILE when full.
func (d *FDTable) Install(f File, flags int, cloexec bool, min int) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for fd := min; fd < d.limit; fd++ {
		if _, ok := d.fds[fd]; !ok {
			d.fds[fd] = &fdEntry{file: f, cloexec: cloexec, flags: &fileFlags{flags: flags, refs: 1}}
			return fd, nil
		}
	}
	return -1, unix.EMFILE
}

// InstallAt puts f at fd, closing what was there (dup2 semantics).
func (d *FDTable) InstallAt(fd int, f File, flags int, cloexec bool) error {
	if fd < 0 || fd >= d.limit {
		return unix.EBADF
	}
	d.mu.Lock()
	old := d.fds[fd]
	d.fds[fd] = &fdEntry{file: f, cloexec: cloexec, flags: &fileFlags{flags: flags, refs: 1}}
	d.mu.Unlock()
	if old != nil {
		d.release(old)
	}
	return nil
}

// Get returns the file at fd; EBADF when none.
func (d *FDTable) Get(fd int) (File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.fds[fd]
	if !ok {
		return nil, unix.EBADF
	}
	return e.file, nil
}

// Flags returns the status flags of fd (fcntl F_GETFL).
func (d *FDTable) Flags(fd int) (int, error) {
	d.mu.Lock()
	e, ok := d.fds[fd]
	d.mu.Unlock()
	if !ok {
		return 0, unix.EBADF
	}
	e.flags.mu.Lock()
	defer e.flags.mu.Unlock()
	return e.flags.flags, nil
}

// SetFlags sets the status flags of fd (fcntl F_SETFL).
func (d *FDTable) SetFlags(fd, flags int) error {
	d.mu.Lock()
	e, ok := d.fds[fd]
	d.mu.Unlock()
	if !ok {
		return unix.EBADF
	}
	e.flags.mu.Lock()
	e.flags.flags = flags
	e.flags.mu.Unlock()
	return nil
}

// CloseOnExec reports and sets FD_CLOEXEC.
func (d *FDTable) CloseOnExec(fd int) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.fds[fd]
	if !ok {
		return false, unix.EBADF
	}
	return e.cloexec, nil
}

func (d *FDTable) SetCloseOnExec(fd int, on bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.fds[fd]
	if !ok {
		return unix.EBADF
	}
	e.cloexec = on
	return nil
}

// Dup duplicates fd to the lowest free fd >= min (dup, F_DUPFD).
func (d *FDTable) Dup(fd, min int, cloexec bool) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.fds[fd]
	if !ok {
		return -1, unix.EBADF
	}
	for n := min; n < d.limit; n++ {
		if _, used := d.fds[n]; !used {
			e.flags.mu.Lock()
			e.flags.refs++
			e.flags.mu.Unlock()
			d.fds[n] = &fdEntry{file: e.file, cloexec: cloexec, flags: e.flags}
			return n, nil
		}
	}
	return -1, unix.EMFILE
}

// Dup3 duplicates oldfd onto newfd (dup2/dup3); EINVAL when equal.
func (d *FDTable) Dup3(oldfd, newfd int, cloexec bool) (int, error) {
	if newfd < 0 || newfd >= d.limit {
		return -1, unix.EBADF
	}
	d.mu.Lock()
	e, ok := d.fds[oldfd]
	if !ok {
		d.mu.Unlock()
		return -1, unix.EBADF
	}
	old := d.fds[newfd]
	e.flags.mu.Lock()
	e.flags.refs++
	e.flags.mu.Unlock()
	d.fds[newfd] = &fdEntry{file: e.file, cloexec: cloexec, flags: e.flags}
	d.mu.Unlock()
	if old != nil {
		d.release(old)
	}
	return newfd, nil
}

// Close closes fd; EBADF when it is not open.
func (d *FDTable) Close(fd int) error {
	d.mu.Lock()
	e, ok := d.fds[fd]
	delete(d.fds, fd)
	d.mu.Unlock()
	if !ok {
		return unix.EBADF
	}
	return d.release(e)
}

func (d *FDTable) release(e *fdEntry) error {
	e.flags.mu.Lock()
	e.flags.refs--
	last := e.flags.refs == 0
	e.flags.mu.Unlock()
	if last {
		return e.file.Close()
	}
	return nil
}

// Fds lists the open fds (for /proc/self/fd).
func (d *FDTable) Fds() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []int
	for fd := range d.fds {
		out = append(out, fd)
	}
	return out
}

// HeldFile is an open file description taken out of the fd table with a
// reference of its own: a file in flight in an SCM_RIGHTS message. It
// stays open while held, even after every fd of it is closed.
type HeldFile struct {
	file  File
	flags *fileFlags
}

// Hold takes a reference to the open file description of fd.
func (d *FDTable) Hold(fd int) (*HeldFile, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.fds[fd]
	if !ok {
		return nil, unix.EBADF
	}
	e.flags.mu.Lock()
	e.flags.refs++
	e.flags.mu.Unlock()
	return &HeldFile{e.file, e.flags}, nil
}

// Release drops the reference; the last one closes the file.
func (h *HeldFile) Release() {
	h.flags.mu.Lock()
	h.flags.refs--
	last := h.flags.refs == 0
	h.flags.mu.Unlock()
	if last {
		h.file.Close()
	}
}

// clone takes another reference to h's file.
func (h *HeldFile) clone() *HeldFile {
	h.flags.mu.Lock()
	h.flags.refs++
	h.flags.mu.Unlock()
	return &HeldFile{h.file, h.flags}
}

// InstallHeld gives h's reference to a new fd, the lowest free one.
func (d *FDTable) InstallHeld(h *HeldFile, cloexec bool) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for fd := 0; fd < d.limit; fd++ {
		if _, ok := d.fds[fd]; !ok {
			d.fds[fd] = &fdEntry{file: h.file, cloexec: cloexec, flags: h.flags}
			return fd, nil
		}
	}
	return -1, unix.EMFILE
}
